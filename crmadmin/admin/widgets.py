"""Form widgets of our own: the permission grid administrators read a role by, the date picker's text box."""
from markupsafe import Markup, escape
from wtforms.widgets import html_params

from ..auth.permissions import (ACTION_LABELS, ACTIONS, RESOURCE_ACTIONS, RESOURCE_LABELS, RESOURCES,
                                SPECIAL_PERMISSIONS, perm)


def _box(name: str, value: str, checked: bool, label: str) -> str:
    box_id = f"{name}-{value}".replace(".", "-")
    return (f'<input type="checkbox" class="form-check-input position-static" name="{escape(name)}" '
            f'id="{escape(box_id)}" value="{escape(value)}" aria-label="{escape(label)}"'
            f'{" checked" if checked else ""}>')


class PermissionGrid:
    """Resources down, actions across, one checkbox each; special rights below."""

    def __call__(self, field, **kwargs):
        granted = set(field.data or ())
        head = "".join(f"<th class='text-center'>{escape(ACTION_LABELS[a])}</th>" for a in ACTIONS)
        rows = []
        for resource in RESOURCES:
            cells = "".join(
                f"<td class='text-center'>{_box(field.name, perm(resource, a), perm(resource, a) in granted, f'{RESOURCE_LABELS[resource]}: {ACTION_LABELS[a]}')}</td>"
                if a in RESOURCE_ACTIONS[resource] else "<td class='table-secondary'></td>"
                for a in ACTIONS)
            rows.append(f"<tr><th scope='row'>{escape(RESOURCE_LABELS[resource])}</th>{cells}</tr>")
        for value, label in SPECIAL_PERMISSIONS.items():
            rows.append(f"<tr><th scope='row'>{escape(label)}</th>"
                        f"<td class='text-center'>{_box(field.name, value, value in granted, str(label))}</td>"
                        f"<td colspan='{len(ACTIONS) - 1}'></td></tr>")
        return Markup(f"<table class='table table-sm table-bordered permission-grid' id='{escape(field.id)}'>"
                      f"<thead><tr><th></th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


class PickerInput:
    """A text box the date picker (static/js/pickers.js) enhances: typing still works, and so does no script.

    kind is "date" (YYYY-MM-DD) or "datetime" (YYYY-MM-DD HH:MM, in the viewer's local time): the formats the
    fields that use it parse (admin/fields.py).
    """

    FORMATS = {"date": "%Y-%m-%d", "datetime": "%Y-%m-%d %H:%M"}
    PLACEHOLDERS = {"date": "YYYY-MM-DD", "datetime": "YYYY-MM-DD HH:MM"}

    def __init__(self, kind: str = "datetime"):
        self.kind = kind

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        kwargs.setdefault("type", "text")
        kwargs.setdefault("autocomplete", "off")
        kwargs.setdefault("inputmode", "numeric")
        kwargs.setdefault("placeholder", self.PLACEHOLDERS[self.kind])
        kwargs["data-picker"] = self.kind
        if "value" not in kwargs:
            kwargs["value"] = field._value() if hasattr(field, "_value") else ""
        return Markup(f"<input {html_params(name=field.name, **kwargs)}>")
