"""Flask-Admin's generated date and date-time fields, drawn by the one picker (widgets.PickerInput) on every screen."""
from datetime import datetime

from flask_admin.contrib.sqla.form import AdminModelConverter
from flask_admin.model.form import converts
from wtforms import fields

from .widgets import PickerInput


class MinuteDateTimeField(fields.DateTimeField):
    """A date and time as the picker writes it, "YYYY-MM-DD HH:MM" (seconds accepted when typed).

    The picker shows minutes: a value sent back at the same minute keeps its stored seconds, so saving a form does
    not change a time nobody touched. Stand-in until the local-time field takes over (PickerConverter.datetime_field).
    """

    widget = PickerInput("datetime")

    def __init__(self, label=None, validators=None, format=None, **kwargs):
        super().__init__(label, validators, format or ["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"], **kwargs)

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        stored = self.object_data
        if isinstance(stored, datetime) and self.data == stored.replace(second=0, microsecond=0):
            self.data = stored


class PickerConverter(AdminModelConverter):
    """Date columns become a date box, DateTime columns a date-and-time box, both enhanced by static/js/pickers.js
    instead of Flask-Admin's English daterangepicker."""

    datetime_field = MinuteDateTimeField  # the class every generated date-time field is built from

    @converts("Date")
    def convert_date(self, field_args, **extra):
        field_args.setdefault("widget", PickerInput("date"))
        return fields.DateField(**field_args)

    @converts("DateTime")  # includes TIMESTAMP
    def convert_datetime(self, field_args, **extra):
        field_args.setdefault("widget", PickerInput("datetime"))
        return self.datetime_field(**field_args)
