"""Long forms in sections: Flask-Admin form rules that draw a fieldset with its legend, fields with their required
mark spelt out for screen readers, and the duplicate check's second step where it belongs."""
from flask_admin.form import rules
from flask_babel import gettext as _
from markupsafe import Markup

from . import taken


class Section(rules.NestedRule):
    """<fieldset> with a <legend>: two columns on a wide screen, one on a phone (static/css/forms.css)."""

    def __init__(self, title, fields, css: str = ""):
        super().__init__([f if isinstance(f, rules.BaseRule) else Present(f) for f in fields])
        self.title = title
        self.css = css

    def __call__(self, form, form_opts=None, field_args=None):
        inner = Markup("").join(rule(form, form_opts, field_args) for rule in self.rules)
        if not inner.strip():
            return Markup("")
        return Markup('<fieldset class="crm-section {}"><legend>{}</legend><div class="crm-section-fields">{}'
                      '</div></fieldset>').format(self.css, str(self.title), inner)


class Present(rules.Field):
    """A field drawn by crm_form.render_field, or nothing when the form left it out for this user (the owner)."""

    def __init__(self, field_name: str):
        super().__init__(field_name, render_field="crm_form.render_field")

    def __call__(self, form, form_opts=None, field_args=None):
        if getattr(form, self.field_name, None) is None:
            return Markup("")
        return super().__call__(form, form_opts, field_args)


class ConfirmDuplicate(rules.BaseRule):
    """The second step: shown only after the check found a clash, to a user who may save it anyway."""

    def __call__(self, form, form_opts=None, field_args=None):
        value = getattr(form, "crm_confirm", None)
        if not value:
            return Markup("")
        return Markup('<div class="form-group crm-wide crm-confirm alert alert-warning"><div class="form-check">'
                      '<input class="form-check-input" type="checkbox" id="{name}" name="{name}" value="{value}">'
                      '<label class="form-check-label" for="{name}">{label}</label></div></div>').format(
            name=taken.CONFIRM, value=value, label=_("Save as a different customer (I have checked)"))


class Hidden(rules.BaseRule):
    """A hidden field the form already draws with its hidden tags (row_version): named, so Flask-Admin counts it."""

    def __init__(self, field_name: str):
        super().__init__()
        self.field_name = field_name

    @property
    def visible_fields(self) -> list[str]:
        return [self.field_name]

    def __call__(self, form, form_opts=None, field_args=None):
        return Markup("")
