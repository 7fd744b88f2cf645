"""A list row's cells, written in Python: as a template loop each cell cost a context call and two escapes through
Jinja, and each translated label (a choice's "Company", "Female") was looked up in the catalogue again."""
from flask_babel.speaklater import LazyString
from jinja2 import pass_context
from markupsafe import Markup, escape


def cells_writer(view, columns):
    """`cells(row)` for the list template: each column's value as Flask-Admin shows it (formatters, types), escaped
    as the template escaped it; a translated label once per page."""
    names = [(name, escape(name)) for name, _ in columns]
    labels = {}  # id of a lazy label -> (the label, kept so the id stays its own; its text)

    def shown(value) -> Markup:
        if isinstance(value, LazyString):
            held = labels.get(id(value))
            if held is None:
                held = labels[id(value)] = (value, escape(value))
            return held[1]
        return escape(value)

    @pass_context
    def cells(context, row) -> Markup:
        value = view.get_list_value
        return Markup("".join(f'<td class="col-{css}">{shown(value(context, row, name))}</td>' for name, css in names))

    return cells
