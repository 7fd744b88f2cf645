"""Local time: every date-time a person types or reads is in their zone, the database keeps UTC (crmadmin/localtime.py).

The forms are swept from the admin views (every create and edit form, every date-time field in it), and each
field is taken through the form, the list, the details page, the CSV and XLSX exports and an import, in the
business zone (CRM_TIMEZONE) and in a user's own zone, at the end of a month and at the daylight-saving changes.
"""
import csv
import io
import re
from datetime import datetime

import openpyxl
import pytest
from flask_login import login_user
from sqlalchemy import select
from wtforms import DateField, DateTimeField, DateTimeLocalField

from crmadmin.admin.base import SecureModelView
from crmadmin.admin.fields import LocalDateTimeField
from crmadmin.admin.filter_links import find_filter, filtered_url
from crmadmin.extensions import db
from crmadmin.models import (AuditEntry, CampaignParticipant, Complaint, Customer, Interaction, Transaction,
                             User)
from tests import factories
from tests.exporting import export
from tests.forms import read_form
from tests.imports import csv_bytes, import_file, preview, stage

SHANGHAI, NEW_YORK = "Asia/Shanghai", "America/New_York"
# how a person is shown each zone (CLDR's names in the reader's language; files keep the IANA names)
SHANGHAI_LABEL, NEW_YORK_LABEL = "China (Shanghai) Time", "United States (New York) Time"
# 23:30 on the last day of March, typed in each zone, and the UTC moment it is
MONTH_END = "2026-03-31 23:30"
STORED = {SHANGHAI: datetime(2026, 3, 31, 15, 30), NEW_YORK: datetime(2026, 4, 1, 3, 30)}
SKIPPED = "2026-03-08 02:30"  # New York's clocks go from 02:00 to 03:00
TWICE = "2026-11-01 01:30"  # New York's 01:00-02:00 happens twice; the first (summer time, UTC-4) is meant
TWICE_STORED = datetime(2026, 11, 1, 5, 30)
IMPORT_KINDS = {Transaction: "transactions", Interaction: "interactions"}

# A record of each model with a date-time form field, made the usual way: a screen that gains one needs a maker here.
MAKERS = {
    Transaction: lambda c: factories.transaction(c),
    Interaction: lambda c: factories.interaction(c),
    Complaint: lambda c: factories.complaint(c),
    CampaignParticipant: lambda c: factories.participant(factories.campaign(), c, response="responded",
                                                         responded_at=datetime(2026, 1, 5, 8, 0)),
}


def admin_views(app):
    return [v for v in app.extensions["admin"][0]._views if isinstance(v, SecureModelView)]


def swept_fields(app) -> list[tuple[str, str, str]]:
    """(endpoint, action, field) of every date-time field of every create and edit form an administrator opens."""
    found = []
    with app.app_context():
        admin = factories.user("administrator")
    with app.test_request_context():
        login_user(db.session.get(User, admin.id))
        for view in admin_views(app):
            for action in ("edit", "create"):
                if not getattr(view, f"can_{action}"):
                    continue
                form = getattr(view, f"{action}_form")()
                for field in form:
                    assert isinstance(field, DateField) or not isinstance(field, (DateTimeField, DateTimeLocalField)), \
                        f"{view.endpoint}.{field.name} asks for a time without a zone"
                    if isinstance(field, LocalDateTimeField):
                        found.append((view.endpoint, action, field.name))
    edited = {(e, f) for e, a, f in found if a == "edit"}
    return sorted(f for f in found if f[1] == "edit" or (f[0], f[2]) not in edited)


@pytest.fixture
def zone(app, monkeypatch, request):
    """(the zone times are typed in, the user's own zone or None): "own:<zone>" is a user's own zone over a
    Shanghai business, a bare zone the business zone (CRM_TIMEZONE) itself."""
    own = request.param.startswith("own:")
    name = request.param.removeprefix("own:")
    monkeypatch.setitem(app.config, "CRM_TIMEZONE", SHANGHAI if own else name)
    return name, (name if own else None)


def _view(app, endpoint):
    return next(v for v in admin_views(app) if v.endpoint == endpoint)


def _url(app, endpoint, **args):
    from flask import url_for
    with app.test_request_context():
        return url_for(endpoint, **args)


def _text(response) -> str:
    return response.get_data(as_text=True)


def _stored(app, model, id_, name):
    with app.app_context():
        return getattr(db.session.get(model, id_), name)


def test_the_sweep_finds_the_forms_that_ask_for_a_time(app):
    """Does the sweep see the date-time fields of the record screens (so that a new one is covered the day it
    comes), and every screen's record can be made here?"""
    fields = swept_fields(app)
    assert {("transaction", "occurred_at"), ("interaction", "occurred_at"), ("complaint", "received_at"),
            ("campaignparticipant", "responded_at")} <= {(e, f) for e, _a, f in fields}
    for endpoint, _action, _field in fields:
        assert _view(app, endpoint).model in MAKERS, f"add a maker for {endpoint}"


@pytest.mark.parametrize("zone", [SHANGHAI, NEW_YORK, f"own:{NEW_YORK}"], indirect=True)
def test_a_time_typed_at_the_end_of_a_month_reads_the_same_everywhere(app, login_as, zone, job_worker):
    """23:30 local on the last day of a month, typed in each swept field: stored as the right UTC moment, and read
    back as 23:30 in the form, the list, the details page, the CSV and XLSX exports and an import of the export?"""
    zone, own = zone
    client = login_as("administrator", timezone=own)
    for endpoint, action, name in swept_fields(app):
        view = _view(app, endpoint)
        with app.app_context():
            record = MAKERS[view.model](factories.customer())
        if action == "edit":
            url = _url(app, f"{endpoint}.edit_view", id=record.id)
            data = read_form(_text(client.get(url)))
            data[name] = MONTH_END
            response = client.post(url, data=data)
            assert response.status_code == 302, (endpoint, name, _text(response)[-3000:])
            record_id = record.id
        else:
            url = _url(app, f"{endpoint}.create_view")
            data = read_form(_text(client.get(url)))
            with app.app_context():
                data.update({k: v for k, v in _filled(db.session.get(view.model, record.id)).items() if k in data})
            data[name] = MONTH_END
            response = client.post(url, data=data)
            assert response.status_code == 302, (endpoint, name, _text(response)[-3000:])
            with app.app_context():
                record_id = db.session.scalar(select(view.model.id).order_by(view.model.id.desc()).limit(1))
        where = f"{endpoint}.{name} in {zone}"
        assert _stored(app, view.model, record_id, name) == STORED[zone], where

        if action == "edit":
            form_page = _text(client.get(_url(app, f"{endpoint}.edit_view", id=record_id)))
            assert re.search(rf'name="{name}"[^>]*value="{MONTH_END}"', form_page), where
        if name in dict(view._list_columns):
            assert f"{MONTH_END}<" in _text(client.get(_url(app, f"{endpoint}.index_view"))), where
        if name in dict(view._details_columns):
            assert f"{MONTH_END}:00" in _text(client.get(_url(app, f"{endpoint}.details_view", id=record_id))), where
        if name in dict(view._export_columns):
            exported = _text(export(client, _url(app, f"{endpoint}.export", export_type="csv")))
            header = exported.splitlines()[0]
            title = str(dict(view._export_columns)[name])
            assert f"{title} ({zone})" in header, where
            assert f"{MONTH_END}:00" in exported, where
            book = openpyxl.load_workbook(io.BytesIO(export(
                client, _url(app, f"{endpoint}.export", export_type="xlsx")).get_data()))
            cells = [c.value for row in book.active.iter_rows() for c in row]
            assert f"{title} ({zone})" in cells and f"{MONTH_END}:00" in cells, where
            if view.model in IMPORT_KINDS:
                _reimport(app, client, view.model, name, exported, zone, where)


def _filled(record) -> dict:
    """What a create form needs besides the time, from a record of the same kind (the lookup takes ids)."""
    values = {}
    for column in record.__table__.columns:
        value = getattr(record, column.key, None)
        if value is None or isinstance(value, datetime):
            continue
        key = column.key[:-3] if column.key.endswith("_id") else column.key
        values[key] = str(value)
    return values


REIMPORT_FIELDS = {Transaction: {"product": "Kit", "amount": "10", "channel": "store"},
                   Interaction: {"channel": "phone", "summary": "Called again"}}


def _reimport(app, client, model, name, exported: str, zone: str, where: str) -> None:
    """The exported cell, under a header naming the zone as exports do, imported again: the same moment stored."""
    lines = list(csv.reader(io.StringIO(exported.lstrip("\ufeff"))))
    column = next(i for i, title in enumerate(lines[0]) if title.endswith(f" ({zone})")
                  and f"{MONTH_END}:00" in (row[i] for row in lines[1:]))
    with app.app_context():
        customer = factories.customer()
    extra = REIMPORT_FIELDS[model]
    data = csv_bytes([["customer_id", f"{name} ({zone})", *extra], [str(customer.id), f"{MONTH_END}:00",
                                                                     *extra.values()]])
    assert lines[0][column] and f"{MONTH_END}:00" in [row[column] for row in lines[1:]]
    page = import_file(client, IMPORT_KINDS[model], data)
    assert "1 created" in page, (where, page[-2000:])
    with app.app_context():
        stored = db.session.scalar(select(getattr(model, name)).where(model.customer_id == customer.id))
    assert stored == STORED[zone], where


@pytest.mark.parametrize("zone", [NEW_YORK, f"own:{NEW_YORK}"], indirect=True)
def test_an_hour_that_does_not_exist_is_refused_and_nothing_stored(app, login_as, snapshot, zone):
    """The hour New York's clocks skip, typed in every swept edit field: a message saying so, nothing stored?"""
    zone, own = zone
    client = login_as("administrator", timezone=own)
    for endpoint, action, name in swept_fields(app):
        if action != "edit":
            continue
        view = _view(app, endpoint)
        with app.app_context():
            record = MAKERS[view.model](factories.customer())
        url = _url(app, f"{endpoint}.edit_view", id=record.id)
        data = read_form(_text(client.get(url)))
        data[name] = SKIPPED
        rows = snapshot()
        response = client.post(url, data=data)
        assert response.status_code == 200, endpoint
        assert f"{SKIPPED} does not exist in {NEW_YORK_LABEL}" in _text(response), endpoint
        assert snapshot() == rows, endpoint


@pytest.mark.parametrize("zone", [NEW_YORK, f"own:{NEW_YORK}"], indirect=True)
def test_an_hour_that_happens_twice_is_taken_as_the_first(app, login_as, zone):
    """01:30 on the night New York's clocks go back: the first 01:30 (summer time, 05:30 UTC), shown back so?"""
    client = login_as("administrator", timezone=zone[1])
    with app.app_context():
        contact = factories.interaction(factories.customer())
    url = _url(app, "interaction.edit_view", id=contact.id)
    data = read_form(_text(client.get(url)))
    data["occurred_at"] = TWICE
    assert client.post(url, data=data).status_code == 302
    assert _stored(app, Interaction, contact.id, "occurred_at") == TWICE_STORED
    assert f'value="{TWICE}"' in _text(client.get(url))


def test_the_log_contact_form_asks_for_local_time_and_the_customer_page_shows_it(app, login_as, monkeypatch):
    """A clerk in the business zone logs a contact at 17:24: 09:24 UTC stored, 17:24 on the customer's page?"""
    monkeypatch.setitem(app.config, "CRM_TIMEZONE", SHANGHAI)
    client = login_as("clerk")
    with app.app_context():
        me = db.session.scalar(select(User).where(User.username == client.username))
        customer = factories.customer(owner_id=me.id)
    url = _url(app, "followups.log_view", id=customer.id)
    page = _text(client.get(url))
    assert "(UTC)" not in page and SHANGHAI_LABEL in page
    data = read_form(page, "log-contact")
    data.update(occurred_at="2026-12-07 17:24", summary="Called back")
    assert client.post(url, data=data).status_code == 302
    with app.app_context():
        [contact] = db.session.scalars(select(Interaction).where(Interaction.customer_id == customer.id)).all()
        assert contact.occurred_at == datetime(2026, 12, 7, 9, 24)
    details = _text(client.get(_url(app, "customer.details_view", id=customer.id)))
    assert "2026-12-07 17:24" in details and "2026-12-07 09:24" not in details


def test_a_between_filter_in_local_days_returns_the_rows_of_those_days(app, login_as, monkeypatch):
    """Interactions just inside and just outside March in Shanghai: "2026-03-01 to 2026-03-31" lists the inside
    ones only, and so do the same bounds typed as times?"""
    monkeypatch.setitem(app.config, "CRM_TIMEZONE", SHANGHAI)
    client = login_as("administrator")
    moments = {"before": datetime(2026, 2, 28, 15, 50), "first": datetime(2026, 2, 28, 16, 10),
               "last": datetime(2026, 3, 31, 15, 50), "after": datetime(2026, 3, 31, 16, 10)}
    with app.app_context():
        customer = factories.customer()
        ids = {k: factories.interaction(customer, summary=k, occurred_at=v).id for k, v in moments.items()}
    view = _view(app, "interaction")
    for typed in ("2026-03-01 to 2026-03-31", "2026-03-01 00:00:00 to 2026-03-31 23:59:59"):
        with app.test_request_context():
            url = filtered_url(view, ((Interaction.occurred_at, "between"), typed))
        listed = {int(i) for i in re.findall(r'name="rowid"[^>]*value="(\d+)"', _text(client.get(url)))}
        assert listed == {ids["first"], ids["last"]}, typed
    with app.test_request_context():  # a link made from stored moments writes them in local time
        index, flt = find_filter(view, (Interaction.occurred_at, "between"))
        url = filtered_url(view, ((Interaction.occurred_at, "between"), (moments["first"], moments["last"])))
    assert "=2026-03-01+00:10:00+to+2026-03-31+23:50:00" in url
    listed = {int(i) for i in re.findall(r'name="rowid"[^>]*value="(\d+)"', _text(client.get(url)))}
    assert listed == {ids["first"], ids["last"]}


def test_an_imported_time_without_an_offset_is_local_and_one_with_an_offset_is_converted(app, login_as, monkeypatch,
                                                                                         job_worker):
    """17:24 without an offset (Shanghai) is 09:24 UTC, 18:24+08:00 is 10:24 UTC and 11:24Z 11:24 UTC, previewed as
    17:24, 18:24 and 19:24; the hour New York skips is a problem of its row for a New York user?"""
    monkeypatch.setitem(app.config, "CRM_TIMEZONE", SHANGHAI)
    client = login_as("administrator")
    with app.app_context():
        customer = factories.customer()
    data = csv_bytes([["customer_id", "occurred_at", "channel", "direction", "summary"],
                      [str(customer.id), "2026-12-06 17:24", "phone", "outbound", "plain"],
                      [str(customer.id), "2026-12-06T18:24+08:00", "phone", "outbound", "offset"],
                      [str(customer.id), "2026-12-06T11:24Z", "phone", "outbound", "utc"]])
    run_id = stage(client, "interactions", data)
    shown = preview(client, run_id)
    assert all(re.search(rf"2026-12-06 {hour}:24\s*<", shown) for hour in (17, 18, 19))
    import_file(client, "interactions", data)
    with app.app_context():
        stored = db.session.execute(select(Interaction.summary, Interaction.occurred_at)
                                    .where(Interaction.customer_id == customer.id)).all()
    assert sorted(stored) == [("offset", datetime(2026, 12, 6, 10, 24)), ("plain", datetime(2026, 12, 6, 9, 24)),
                              ("utc", datetime(2026, 12, 6, 11, 24))]
    new_yorker = login_as("administrator", timezone=NEW_YORK)
    skipped = csv_bytes([["customer_id", "occurred_at", "channel", "direction", "summary"],
                         [str(customer.id), SKIPPED, "phone", "outbound", "skipped"]])
    assert f"{SKIPPED} does not exist in {NEW_YORK_LABEL}" in preview(new_yorker, stage(new_yorker, "interactions", skipped))


def test_a_user_chooses_their_own_zone_and_every_time_follows(app, login_as, snapshot, monkeypatch):
    """On the account page: a zone that is no IANA zone is refused (nothing stored); New York chosen, the operation
    log and the lists show New York time; the business zone chosen again, Shanghai time?"""
    monkeypatch.setitem(app.config, "CRM_TIMEZONE", SHANGHAI)
    client = login_as("administrator")
    with app.app_context():
        factories.interaction(factories.customer(), occurred_at=datetime(2026, 12, 7, 9, 24))
    url = _url(app, "account.settings")
    data = read_form(_text(client.get(url)), "account-form")
    assert data["timezone"] == ""
    rows = snapshot()
    refused = client.post(url, data={**data, "timezone": "Mars/Olympus"})
    assert refused.status_code == 200 and "is-invalid" in _text(refused) and snapshot() == rows
    assert client.post(url, data={**data, "timezone": NEW_YORK}).status_code == 302
    listed = _text(client.get(_url(app, "interaction.index_view")))
    assert "2026-12-07 04:24" in listed and NEW_YORK_LABEL in listed
    log = _text(client.get(_url(app, "auditentry.index_view")))
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        from crmadmin.localtime import to_local
        from zoneinfo import ZoneInfo
        assert to_local(entry.occurred_at, ZoneInfo(NEW_YORK)).strftime("%Y-%m-%d %H:%M") in log
    assert client.post(url, data={**data, "timezone": ""}).status_code == 302
    assert "2026-12-07 17:24" in _text(client.get(_url(app, "interaction.index_view")))
    with app.app_context():
        assert db.session.scalar(select(User.timezone).where(User.username == client.username)) is None


def test_an_administrator_sets_a_users_zone_on_the_users_screen(app, login_as, snapshot):
    """On the Users screen: a zone that is no IANA zone is refused and nothing stored; New York is stored; blank
    is the business zone again (NULL)?"""
    admin = login_as("administrator")
    with app.app_context():
        clerk = factories.user("clerk")
    url = _url(app, "user.edit_view", id=clerk.id)
    data = read_form(_text(admin.get(url)))
    blank = data["timezone"]  # Flask-Admin's blank choice
    assert blank in ("", "__None")
    rows = snapshot()
    refused = admin.post(url, data={**data, "timezone": "Mars/Olympus"})
    assert refused.status_code == 200 and snapshot() == rows
    assert admin.post(url, data={**data, "timezone": NEW_YORK}).status_code == 302
    assert _stored(app, User, clerk.id, "timezone") == NEW_YORK
    data = read_form(_text(admin.get(url)))
    assert data["timezone"] == NEW_YORK
    assert admin.post(url, data={**data, "timezone": blank}).status_code == 302
    assert _stored(app, User, clerk.id, "timezone") is None
