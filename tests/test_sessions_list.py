"""My sessions (issue 30): the account page lists where the user is signed in, and signing one out really ends it."""
import logging
import time
from datetime import timedelta

from sqlalchemy import func, select, update

from crmadmin.auth.sessions import SEEN_AT, WRITTEN_AT
from crmadmin.extensions import db
from crmadmin.models import AuditEntry, User, UserSession, utcnow
from crmadmin.models.user_session import token_hash
from tests import factories
from tests.conftest import log_entries, sign_in
from tests.forms import csrf_token

WINDOWS_CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/131.0.0.0 Safari/537.36")
IPHONE_SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Version/17.5 Mobile/15E148 Safari/604.1")
ANDROID_WECHAT = ("Mozilla/5.0 (Linux; Android 14; V2307A Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like "
                  "Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 MMWEBSDK/20231202 "
                  "MicroMessenger/8.0.47.2560(0x28002F30) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64")


def device(app, address: str, agent: str):
    """A browser of its own: its address and User-Agent as a server sees them."""
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR=address, HTTP_USER_AGENT=agent)
    return client


def signed_in(client) -> bool:
    return client.get("/admin/").status_code == 200


def token_of(app, client) -> str | None:
    """The session token the client's cookie holds (Flask-Login's user id)."""
    cookie = client.get_cookie("session")
    return cookie and app.session_interface.get_signing_serializer(app).loads(cookie.value).get("_user_id")


def row_id(app, client) -> int:
    with app.app_context():
        return db.session.scalar(select(UserSession.id).where(UserSession.token_hash == token_hash(token_of(app, client))))


def rows_of(app, username: str) -> int:
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == username))
        return db.session.scalar(select(func.count()).select_from(UserSession).where(UserSession.user_id == user_id))


def copy_of(app, client):
    """Another machine holding a copy of the client's cookie."""
    thief = device(app, "203.0.113.66", "curl/8.5.0")
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def post(client, url: str, **data):
    data["csrf_token"] = csrf_token(client.get("/account/").get_data(as_text=True))
    return client.post(url, data=data)


def two_devices(app):
    """One clerk signed in from a Windows laptop and from an iPhone."""
    with app.app_context():
        username = factories.user("clerk").username
    laptop = device(app, "192.0.2.10", WINDOWS_CHROME)
    phone = device(app, "198.51.100.20", IPHONE_SAFARI)
    assert sign_in(laptop, username).status_code == 302 and sign_in(phone, username).status_code == 302
    laptop.username = phone.username = username
    return laptop, phone


def test_the_list_shows_each_sign_in_with_its_address_and_browser(app):
    """Signed in from a laptop and a phone, does the account page list both, with address, browser and system in
    words, and mark the one being used?"""
    laptop, phone = two_devices(app)
    page = laptop.get("/account/").get_data(as_text=True)
    listed = page[page.index('id="session-list"'):page.index("</ul>", page.index('id="session-list"'))]
    assert listed.count("<li") == 2
    assert "Chrome 131 on Windows" in listed and "192.0.2.10" in listed
    assert "Safari 17 on iOS 17" in listed and "198.51.100.20" in listed
    assert listed.count("This session") == 1
    assert listed.index("Chrome 131 on Windows") < listed.index("This session") < listed.index("Safari 17")
    assert token_of(app, laptop) not in page and token_hash(token_of(app, laptop)) not in page
    chinese = laptop.get("/account/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "当前会话" in chinese and "Chrome 131" in chinese


def test_a_browser_in_an_app_reads_as_that_app(app):
    """Does a page opened inside WeChat on Android say so, in the reader's language?"""
    with app.app_context():
        username = factories.user("clerk").username
    wechat = device(app, "192.0.2.30", ANDROID_WECHAT)
    assert sign_in(wechat, username).status_code == 302
    assert "WeChat 8 on Android 14" in wechat.get("/account/").get_data(as_text=True)
    assert "微信 8" in wechat.get("/account/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)


def test_signing_out_one_other_session_refuses_its_copied_cookie_and_keeps_this_one(app):
    """When I sign out my phone from my laptop, are the phone and a copy of its cookie refused at their next request,
    while the laptop works on, and is it logged without any token?"""
    laptop, phone = two_devices(app)
    stolen = copy_of(app, phone)
    assert signed_in(stolen)
    phone_token = token_of(app, phone)
    response = post(laptop, "/account/sessions/end", session=str(row_id(app, phone)))
    assert response.status_code == 302 and response.headers["Location"] == "/account/#sessions"
    assert "The session of Safari 17 on iOS 17 has been signed out." in laptop.get("/account/").get_data(as_text=True)
    assert not signed_in(phone) and not signed_in(stolen)
    assert signed_in(laptop)
    assert rows_of(app, laptop.username) == 1
    [entry] = log_entries(app, action="sessions_ended")
    assert '"ended_sessions": 1' in entry.changes and "198.51.100.20" in entry.changes
    everything = " ".join(str(value) for e in log_entries(app) for value in vars(e).values())
    assert phone_token not in everything and token_hash(phone_token) not in everything


def test_signing_out_all_others_ends_all_but_this_one(app):
    """Does "sign out all other sessions" end the phone, a copied cookie and a third browser, and keep this one?"""
    laptop, phone = two_devices(app)
    stolen = copy_of(app, phone)
    tablet = device(app, "192.0.2.11", IPHONE_SAFARI.replace("iPhone", "iPad"))
    assert sign_in(tablet, laptop.username).status_code == 302
    assert rows_of(app, laptop.username) == 3
    response = post(laptop, "/account/sessions/end-others")
    assert response.status_code == 302
    assert "2 other sessions have been signed out." in laptop.get("/account/").get_data(as_text=True)
    assert not any(signed_in(c) for c in (phone, stolen, tablet))
    assert signed_in(laptop) and rows_of(app, laptop.username) == 1
    [entry] = log_entries(app, action="sessions_ended")
    assert entry.changes == '{"ended_sessions": 2}'
    post(laptop, "/account/sessions/end-others")
    assert "You have no other sessions." in laptop.get("/account/").get_data(as_text=True)
    assert len(log_entries(app, action="sessions_ended")) == 1


def test_this_session_is_not_signed_out_from_the_list(app, snapshot):
    """Can the list's button be aimed at the session that sends it (sign-out is the navbar's)? Nothing changes."""
    laptop, _ = two_devices(app)
    before = snapshot()
    post(laptop, "/account/sessions/end", session=str(row_id(app, laptop)))
    assert "That session has already ended." in laptop.get("/account/").get_data(as_text=True)
    assert snapshot() == before and signed_in(laptop)


def test_a_password_change_still_ends_all_other_sessions(app):
    """After I change my password on the laptop, is only the laptop's session left?"""
    laptop, phone = two_devices(app)
    page = laptop.get("/account/password").get_data(as_text=True)
    response = laptop.post("/account/password", data={
        "csrf_token": csrf_token(page), "current_password": factories.PASSWORD,
        "new_password": "a brand new passphrase 42", "confirm_password": "a brand new passphrase 42"})
    assert response.status_code == 302
    assert signed_in(laptop) and not signed_in(phone)
    assert rows_of(app, laptop.username) == 1


def test_another_user_cannot_end_my_sessions(app, login_as, snapshot):
    """Can someone else, even an administrator, sign out my sessions by sending my session's id? Nothing changes."""
    laptop, phone = two_devices(app)
    stranger = login_as("administrator")
    before = snapshot()
    for target in (laptop, phone):
        response = post(stranger, "/account/sessions/end", session=str(row_id(app, target)))
        assert response.status_code == 302
        assert "That session has already ended." in stranger.get("/account/").get_data(as_text=True)
    assert snapshot() == before
    assert signed_in(laptop) and signed_in(phone)
    post(stranger, "/account/sessions/end-others")  # ends the stranger's other sessions: they have none
    assert snapshot() == before and signed_in(laptop) and signed_in(phone)


def test_a_tampered_session_field_gets_a_message_not_an_error(app, snapshot):
    """A session field that is no number, or missing: a message in the user's language, nothing changed, no 500?"""
    laptop, _ = two_devices(app)
    before = snapshot()
    for value in ("abc", "", "1e9999"):
        response = post(laptop, "/account/sessions/end", session=value)
        assert response.status_code == 302
        assert "Choose a session to sign out." in laptop.get("/account/").get_data(as_text=True)
    response = laptop.post("/account/sessions/end", headers={"Accept-Language": "zh-CN"},
                           data={"csrf_token": csrf_token(laptop.get("/account/").get_data(as_text=True))})
    assert response.status_code == 302
    assert "请选择要退出的会话。" in laptop.get("/account/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert snapshot() == before


def test_idle_expiry_ends_the_row(app):
    """When a session is signed out for being idle, is its row gone, so no copy of its cookie can revive it?"""
    laptop, phone = two_devices(app)
    with laptop.session_transaction() as session:
        session[SEEN_AT] -= 31 * 60
    assert laptop.get("/admin/").status_code == 302
    assert rows_of(app, laptop.username) == 1  # the phone's only
    assert signed_in(phone)


def test_sessions_past_their_limits_are_not_listed_and_go_at_the_next_sign_in(app):
    """A browser closed and never back: is its session off the list, and deleted when anyone next signs in?"""
    laptop, phone = two_devices(app)
    with app.app_context():
        db.session.execute(update(UserSession).where(UserSession.token_hash == token_hash(token_of(app, phone)))
                           .values(last_seen_at=utcnow() - timedelta(hours=2)))
        db.session.commit()
    assert "Safari 17" not in laptop.get("/account/").get_data(as_text=True)
    assert not signed_in(phone)  # the loader asks the row's limits too, not the cookie's alone
    assert rows_of(app, laptop.username) == 2
    with app.app_context():
        someone = factories.user("auditor").username
    assert sign_in(app.test_client(), someone).status_code == 302
    assert rows_of(app, laptop.username) == 1


def test_last_seen_is_written_at_most_once_a_minute(app, count_queries):
    """Does a busy browser write its row's last-seen time once a minute, not at every request?"""
    laptop, _ = two_devices(app)
    with count_queries() as statements:
        for _ in range(5):
            assert signed_in(laptop)
    assert not [s for s in statements if s.lstrip().upper().startswith("UPDATE USER_SESSION")]
    mine = UserSession.token_hash == token_hash(token_of(app, laptop))
    with app.app_context():
        db.session.execute(update(UserSession).where(mine).values(last_seen_at=utcnow() - timedelta(minutes=3)))
        db.session.commit()
    with laptop.session_transaction() as session:
        session[WRITTEN_AT] = int(time.time()) - 61
    with count_queries() as statements:
        for _ in range(3):
            assert signed_in(laptop)
    assert len([s for s in statements if s.lstrip().upper().startswith("UPDATE USER_SESSION")]) == 1
    with app.app_context():
        assert utcnow() - db.session.scalar(select(UserSession.last_seen_at).where(mine)) < timedelta(seconds=10)


def test_no_token_reaches_the_application_log(app, caplog):
    """Signing in, listing, signing out others and out: does any log line carry a session token or its hash?"""
    caplog.set_level(logging.DEBUG)
    laptop, phone = two_devices(app)
    secrets_ = {token_of(app, laptop), token_of(app, phone)}
    secrets_ |= {token_hash(t) for t in secrets_}
    post(laptop, "/account/sessions/end", session=str(row_id(app, phone)))
    laptop.get("/account/")
    post(laptop, "/logout")
    text = caplog.text + " ".join(e.changes or "" for e in log_entries(app))
    assert not [s for s in secrets_ if s in text]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.record_type == "user_session")) == 0
