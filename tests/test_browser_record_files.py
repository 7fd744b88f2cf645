"""Files on records in a real headless Chromium, in zh_CN (issue 28): a clerk attaches a contract to their customer,
downloads the same bytes, deletes a file after confirming; another clerk's browser gets 404; the files section fits
a laptop (1366×768) and a phone (390×844) without sideways scrolling."""
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from crmadmin.extensions import db
from crmadmin.models import RecordFile, User
from tests import factories
from tests.test_browser import TIMEOUT_MS, browser, live_server, sign_in  # noqa: F401 (fixtures)
from tests.test_browser_lists import open_page  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
CONTRACT = "上海浦江国际物流有限公司 2026 年度购销合同（盖章版）.pdf"
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def _shot(page, name: str) -> None:
    """The page and its files section, into CRM_SHOTS when it is set."""
    if os.environ.get("CRM_SHOTS"):
        folder = Path(os.environ["CRM_SHOTS"])
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
        page.locator("#files").screenshot(path=str(folder / f"{name}-section.png"))


@pytest.fixture
def clerk_and_customer(app):
    with app.app_context():
        clerk = factories.user("clerk", display_name="张敏")
        customer = factories.customer(name="上海浦江国际物流有限公司", kind="company", owner_id=clerk.id)
        return clerk.username, customer.id


@pytest.mark.parametrize("width, height", [(1366, 768), (390, 844)])
def test_a_clerk_attaches_downloads_and_deletes_a_file_and_another_clerk_gets_404(
        app, live_server, open_page, clerk_and_customer, width, height):
    """Can a clerk attach files on the customer's page, read one back, delete one after confirming, on a laptop and a
    phone, while another clerk's browser is answered 404?"""
    username, customer_id = clerk_and_customer
    page = open_page(width, height, accept_downloads=True)
    sign_in(page, live_server, username)
    url = f"{live_server}/admin/customer/details/?id={customer_id}"
    page.goto(url)
    section = page.locator("#files")
    expect(section.locator("h2")).to_contain_text("附件")
    expect(section).to_contain_text("暂无附件")
    for name, data, mime in ((CONTRACT, PDF, "application/pdf"), ("破损照片.png", PNG, "image/png")):
        page.set_input_files("#record-file-input", files=[{"name": name, "mimeType": mime, "buffer": data}])
        section.get_by_role("button", name="上传", exact=True).click()
        page.wait_for_url(re.compile(r"#files$"))
        expect(page.locator(".alert-success")).to_contain_text(name)
    expect(section.locator(".record-file")).to_have_count(2)
    expect(section.locator(".record-file").first).to_contain_text("张敏")
    expect(section.locator(".record-file").last).to_contain_text("PDF 文档")
    assert page.evaluate(OVERFLOW) == 0
    _shot(page, f"record-files-customer-{width}x{height}")

    with page.expect_download() as info:
        section.get_by_role("link", name=CONTRACT).click()
    download = info.value
    assert download.suggested_filename == CONTRACT
    assert Path(download.path()).read_bytes() == PDF

    with app.app_context():
        other = factories.user("clerk").username
        ids = list(db.session.scalars(select(RecordFile.id)))
    stranger = open_page(width, height, accept_downloads=True)
    sign_in(stranger, live_server, other)
    for file_id in ids:
        assert stranger.request.get(f"{live_server}/admin/recordfiles/download/?id={file_id}").status == 404

    page.once("dialog", lambda dialog: dialog.dismiss())  # "no": nothing is deleted
    section.get_by_role("button", name="删除附件“破损照片.png”").click()
    expect(section.locator(".record-file")).to_have_count(2)
    page.once("dialog", lambda dialog: dialog.accept())
    section.get_by_role("button", name="删除附件“破损照片.png”").click()
    expect(page.locator(".alert-success")).to_contain_text("已删除")
    expect(section.locator(".record-file")).to_have_count(1)
    with app.app_context():
        assert list(db.session.scalars(select(RecordFile.file_name))) == [CONTRACT]
        assert db.session.scalar(select(User.id).where(User.username == other)) is not None
