"""Files on records: upload, download and delete, each asked of the record's own permission and the data scope.

Whoever may view the customer (or complaint) may download its files; whoever may edit it may attach and delete.
A record outside the user's scope is not found (404), as its details page is. The files are never static: every
byte goes out through `download`, as an attachment, never rendered in the browser.
"""
import io
import logging

from flask import abort, current_app, flash, redirect, request, send_file, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from ..auth.permissions import perm
from ..extensions import db
from ..files import FileRefused, storage, store
from ..files.kinds import ACCEPTED, KINDS, size_text
from ..models import Complaint, Customer, RecordFile
from ..outages import is_outage
from .base import AccessMixin
from .filter_values import INT64
from .scope import restrict

log = logging.getLogger(__name__)
# record type -> (model, permission resource, how its rows belong to an owner)
RECORDS = {"customer": (Customer, "customers", "owner"), "complaint": (Complaint, "complaints", "customer")}


def _id(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number in INT64 else None


def may(record_type: str, action: str) -> bool:
    return current_user.can(perm(RECORDS[record_type][1], action))


def visible_record(record_type: str, record_id):
    """The record if the user may view it and it is in their scope, else None."""
    if record_type not in RECORDS or not may(record_type, "view") or _id(record_id) is None:
        return None
    model, resource, scope = RECORDS[record_type]
    return restrict(db.session.query(model), model, scope, resource).filter(model.id == _id(record_id)).one_or_none()


def files_section(record) -> dict:
    """What the files section of a details page shows (admin/_record_files.html): the files, and what may be done."""
    record_type = "customer" if isinstance(record, Customer) else "complaint"
    return {"record_type": record_type, "record_id": record.id,
            "files": db.session.scalars(store.of_record(record)).unique().all(),
            "may_edit": may(record_type, "edit"), "kinds": KINDS, "size_text": size_text, "accept": ACCEPTED,
            "max_size": size_text(current_app.config["CRM_FILES_MAX_BYTES"])}


class RecordFilesView(AccessMixin, BaseView):
    """No screen of its own (not in the menu): the routes behind the files section of customers and complaints."""

    def is_accessible(self) -> bool:
        return current_user.is_authenticated and (may("customer", "view") or may("complaint", "view"))

    def is_visible(self) -> bool:
        return False

    @expose("/")
    def index(self):
        abort(404)

    def _file(self, file_id, action: str):
        """The file and its record, if the user may `action` the record; 404 when they may not see it."""
        row = db.session.get(RecordFile, _id(file_id)) if _id(file_id) is not None else None
        if row is None:
            abort(404)
        record_type, record_id = store.owner_of(row)
        record = visible_record(record_type, record_id)
        if record is None:
            abort(404)
        if not may(record_type, action):
            abort(403)
        return row, record

    @staticmethod
    def _back(record, anchor: str | None = "files") -> str:
        endpoint = "customer" if isinstance(record, Customer) else "complaint"
        return url_for(f"{endpoint}.details_view", id=record.id, _anchor=anchor)

    @expose("/download/")
    def download(self):
        """The file as an attachment under its own name (RFC 5987 for Chinese), in its content's type, never sniffed
        or shown inline; the download is logged in a transaction of its own."""
        row, record = self._file(request.args.get("id"), "view")
        root = storage.folder(current_app.config)
        try:
            body = store.content(db.session, row, root)
            source = body if isinstance(body, bytes) else open(body, "rb")
        except (OSError, ValueError):
            log.exception("Stored file #%s is missing", row.id)
            abort(404)
        store.log_download(db.session, record, row)
        db.session.commit()
        kind = KINDS.get(row.kind)
        response = send_file(io.BytesIO(source) if isinstance(source, bytes) else source,
                             mimetype=kind.mimetype if kind else "application/octet-stream", as_attachment=True,
                             download_name=row.file_name, etag=row.sha256, conditional=False, max_age=0)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response.headers["Cache-Control"] = "private, no-store"
        return response

    @expose("/upload/", methods=["POST"])
    def upload(self):
        """Attach the file sent to the record; a refused file is named in the user's words and nothing is kept."""
        record_type = request.form.get("record_type", "")
        record = visible_record(record_type, request.form.get("record_id"))
        if record is None:
            abort(404)
        if not may(record_type, "edit"):
            abort(403)
        sent = request.files.get("file")
        if sent is None or not sent.filename:
            flash(_("Choose a file to attach."), "error")
            return redirect(self._back(record, None))
        data = sent.read(current_app.config["CRM_FILES_MAX_BYTES"] + 1)
        try:
            row = store.attach(db.session, record, data, sent.filename, current_user.id,
                               current_app.config["CRM_FILES_MAX_BYTES"], storage.folder(current_app.config))
            name = row.file_name
            db.session.commit()
        except FileRefused as refused:
            db.session.rollback()
            flash(_("The file was not attached: %(why)s", why=str(refused)), "error")
            return redirect(self._back(record, None))
        except (SQLAlchemyError, OSError) as error:
            if is_outage(error):
                raise
            db.session.rollback()  # a file already written to the folder is removed (files/storage.py)
            log.exception("Could not attach a file")
            flash(_("The file could not be stored. Nothing was attached; try again."), "error")
            return redirect(self._back(record, None))
        flash(_("“%(name)s” was attached.", name=name), "success")
        return redirect(self._back(record))

    @expose("/delete/", methods=["POST"])
    def delete(self):
        """Delete a file of a record the user may edit; its bytes leave the folder once this is committed."""
        row, record = self._file(request.form.get("id"), "edit")
        name = row.file_name
        try:
            store.remove(db.session, record, row, storage.folder(current_app.config))
            db.session.commit()
        except SQLAlchemyError as error:
            if is_outage(error):
                raise
            db.session.rollback()
            log.exception("Could not delete a file")
            flash(_("The file could not be deleted. Nothing was changed."), "error")
            return redirect(self._back(record))
        flash(_("“%(name)s” was deleted.", name=name), "success")
        return redirect(self._back(record))

