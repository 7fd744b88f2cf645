"""A list page's rows, written in Python: as a template each cell cost a context call and two escapes through Jinja,
each row button a macro call and an address routed by url_for, and each translated label (a choice's "Company",
"Female") was looked up in the catalogue again. The rows read as Flask-Admin's own list_row block writes them."""
from urllib.parse import quote_plus

from flask_admin.babel import gettext as admin_gettext  # Flask-Admin's own words, from its catalogue
from flask_babel.speaklater import LazyString
from flask_wtf.csrf import generate_csrf
from jinja2 import pass_context
from markupsafe import Markup, escape

from .row_urls import QUERY_SAFE, ROW_ID

BUTTONS = {  # Flask-Admin's row buttons (model/row_actions.html): the view's endpoint and the button's icon
    "row_actions.view_row": ("details", "fa fa-eye glyphicon glyphicon-eye-open"),
    "row_actions.edit_row": ("edit", "fa fa-pencil glyphicon glyphicon-pencil"),
}
DELETE = "row_actions.delete_row"
ROW_VALUE = "__row_value__"  # stands for a row's id, as HTML, where a row's text is written once a page


def cells_writer(view, columns):
    """`cells(row)`: each column's value as Flask-Admin shows it (formatters, types), escaped as the template
    escaped it; a translated label once per page."""
    cut, title = set(getattr(view, "column_cut", ())), getattr(view, "column_card_title", None)
    # each cell: its class, and its label for the phone's card (static/css/lists.css); long text is cut to one line
    # with an ellipsis and shown whole on hover (title), the card's title column is marked
    names = [(name, f'class="col-{escape(name)}{" crm-cut" if name in cut else ""}'
                    f'{" crm-card-title" if name == title else ""}" data-label="{escape(label)}"', name in cut)
             for name, label in columns]
    labels = {}  # id of a lazy label -> (the label, kept so the id stays its own; its text)
    # A column with a formatter and choices: Flask-Admin looks the formatter's result up among the stored values,
    # and a translated label (lazy) was translated again to be looked up; no label is another choice's stored value.
    formatters, choices = view.column_formatters, getattr(view, "_column_choices_map", {})
    labelled = {name: (formatters[name], choices[name]) for name, _ in columns
                if name in formatters and choices.get(name)}

    def shown(value) -> Markup:
        if isinstance(value, LazyString):
            held = labels.get(id(value))
            if held is None:
                held = labels[id(value)] = (value, escape(value))
            return held[1]
        return escape(value)

    def cell(context, row, name):
        if name in labelled:
            formatter, stored = labelled[name]
            value = formatter(view, context, row, name)
            return value if isinstance(value, LazyString) else stored.get(value) or value
        return view.get_list_value(context, row, name)

    def td(attributes: str, value: Markup, cut: bool) -> str:
        whole = Markup(value).striptags() if cut else ""
        return f'<td {attributes} title="{escape(whole)}">{value}</td>' if whole else f"<td {attributes}>{value}</td>"

    def cells(context, row) -> str:
        return "".join(td(attributes, shown(cell(context, row, name)), cut) for name, attributes, cut in names)

    return cells


def rows_writer(view, page: dict):
    """`row_html(row)` for crm_list.html: the selection box, the row buttons and the cells of one row. What is the
    same on every row (the buttons' addresses with a place for the id, the CSRF token, the words) is worked out
    once a page; a button of the view's own (a complaint's moves) renders itself as in the template."""
    cells = cells_writer(view, page.get("list_columns", ()))
    return_url = page["return_url"]
    checkbox = (f'<td><input type="checkbox" name="rowid" class="action-checkbox" value="{ROW_VALUE}" '
                f'title="{escape(admin_gettext("Select record"))}" /></td>') if page.get("actions") else ""
    buttons = []  # HTML with ROW_VALUE and ROW_ID in place of the row's id, or a row action object
    for action in page.get("list_row_actions", ()) if view.column_display_actions else ():
        title = escape(action.title or "")
        name = getattr(action, "template_name", None)
        if name in BUTTONS:
            endpoint, icon = BUTTONS[name]
            url = escape(view.get_url(f".{endpoint}_view", id=ROW_ID, url=return_url))
            buttons.append(f'<a class="icon" href="{url}" title="{title}"><span class="{icon}"></span></a>')
        elif name == DELETE:
            confirm = escape(admin_gettext("Are you sure you want to delete this record?"))
            buttons.append(
                f'<form class="icon" method="POST" action="{escape(view.get_url(".delete_view"))}">'
                f'<input id="id" name="id" type="hidden" value="{ROW_VALUE}">'
                f'<input id="url" name="url" type="hidden" value="{escape(return_url)}">'
                f'<input type="hidden" name="csrf_token" value="{escape(generate_csrf())}"/>'
                f'<button onclick="return faHelpers.safeConfirm(\'{confirm}\');" '
                f'title="{escape(admin_gettext("Delete Record"))}"><span class="fa fa-trash glyphicon glyphicon-trash">'
                '</span></button></form>')
        else:
            buttons.append(action)
    opening, closing = ('<td class="list-buttons-column">', "</td>") if view.column_display_actions else ("", "")

    @pass_context
    def row_html(context, row) -> Markup:
        row_id = view.get_pk_value(row)
        shown_id, quoted = escape(row_id), escape(quote_plus(str(row_id), safe=QUERY_SAFE))
        written = [checkbox.replace(ROW_VALUE, shown_id), opening]
        for button in buttons:
            if isinstance(button, str):
                written.append(button.replace(ROW_VALUE, shown_id).replace(ROW_ID, quoted))
            else:
                written.append(str(button.render(context, row_id, row)))
        written += [closing, cells(context, row)]
        return Markup("".join(written))

    return row_html
