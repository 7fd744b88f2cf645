"""Text limits on record forms: each String column's length becomes its field's one length check, its maxlength and
its hint, read from the model once when the form is built, so no screen can lose text past a column's end.

The browser cuts a paste at maxlength without a word; static/js/limits.js keeps the whole paste, counts it and lets
the browser refuse the form, and the server refuses it in any case (a direct POST included)."""
from flask_babel import LazyString, gettext as _, lazy_gettext as _l
from sqlalchemy import Enum, String, inspect as sa_inspect
from wtforms import StringField
from wtforms.fields.core import UnboundField
from wtforms.validators import Length, ValidationError


class MaxChars:
    """At most `limit` characters, counted as the database counts them; renders as maxlength."""

    def __init__(self, limit: int):
        self.limit = limit
        self.field_flags = {"maxlength": limit}

    def __call__(self, form, field):
        if isinstance(field.data, str) and len(field.data) > self.limit:
            raise ValidationError(_("At most %(max)d characters: this has %(num)d. Nothing was saved; shorten it "
                                    "and save again.", max=self.limit, num=len(field.data)))


def column_lengths(model) -> dict[str, int]:
    """Attribute name -> length of each length-bound text column of the model (enumerations are chosen, not typed)."""
    lengths = {}
    for attribute in sa_inspect(model).column_attrs:
        column_type = attribute.columns[0].type
        if isinstance(column_type, String) and not isinstance(column_type, Enum) and column_type.length:
            lengths[attribute.key] = column_type.length
    return lengths


def hint(limit: int):
    return _l("At most %(max)d characters", max=limit)


def with_hint(description, limit: int):
    """The field's own description (None from the scaffolding when the column has no doc) followed by its limit."""
    if not description:
        return hint(limit)
    return LazyString(lambda: f"{description} {hint(limit)}")


def apply(form_class, model) -> None:
    """Give each text field of a column with a length exactly one limit: the column's (other Length checks go)."""
    for name, limit in column_lengths(model).items():
        unbound = getattr(form_class, name, None)
        if not isinstance(unbound, UnboundField) or not issubclass(unbound.field_class, StringField):
            continue
        kwargs = dict(unbound.kwargs)
        kept = [v for v in kwargs.get("validators") or () if not isinstance(v, (Length, MaxChars))]
        kwargs["validators"] = [MaxChars(limit), *kept]  # first: a 2,000-character paste is told its length
        kwargs["description"] = with_hint(kwargs.get("description"), limit)
        render_kw = dict(kwargs.get("render_kw") or {})
        render_kw.setdefault("data-too-long", _l("At most %(max)d characters: shorten the text.", max=limit))
        kwargs["render_kw"] = render_kw
        unbound.kwargs = kwargs  # in place: a new UnboundField would move the field to the end of the form
        setattr(form_class, name, unbound)  # and WTForms forgets the field list it had read
