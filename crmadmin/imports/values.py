"""One cell of an import file read as a field's value, or the reason it cannot be, in the user's language."""
import re
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from email_validator import EmailNotValidError, validate_email
from flask_babel import force_locale, gettext as _

from ..localtime import NoSuchLocalTime, to_utc, valid_zone
from ..phones import e164
from .mapping import Field

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("9999999999.99")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                   r"(?:[ T]+(\d{1,2})[:：](\d{2})(?:[:：](\d{2})(?:\.\d+)?)?)?$")
_OFFSET = re.compile(r"\s*(?:(Z)|([+-])(\d{2}):?(\d{2}))$", re.IGNORECASE)  # ISO 8601: Z, +08:00, -0500
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_MONEY_NOISE = re.compile(r"[\s,，¥￥$元]|CNY|RMB", re.IGNORECASE)


class Problem(ValueError):
    """A cell that cannot be a value of its field; str() is the message."""


def text_of(raw) -> str:
    """A cell as text: Excel's numbers without a spurious '.0' (phones, codes, IDs typed as numbers)."""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, datetime):
        return raw.isoformat(sep=" ")
    return str(raw).strip()


# Words spreadsheets commonly use for some choices, besides the labels the screens show.
CHOICE_WORDS = {
    "direction": {"呼入": "inbound", "来电": "inbound", "呼出": "outbound", "去电": "outbound", "in": "inbound",
                  "out": "outbound"},
    "transaction_status": {"已支付": "paid", "已付": "paid", "未付款": "pending", "待支付": "pending",
                           "退款": "refunded"},
    "customer_kind": {"公司": "company", "企业客户": "company", "个人客户": "person", "individual": "person"},
    "gender": {"m": "male", "f": "female", "男性": "male", "女性": "female"},
}


class Choice:
    """A choice cell: the stored code, or its label in English or Chinese, any case (or a usual synonym)."""

    def __init__(self, field: Field):
        self.field = field
        self.codes = dict(CHOICE_WORDS.get(field.choices.name, {}))
        for code, label in field.choices.pairs:
            self.codes[code.casefold()] = code
            for locale in ("en", "zh_CN"):
                with force_locale(locale):
                    self.codes[str(label).casefold()] = code

    def __call__(self, raw):
        code = self.codes.get(text_of(raw).casefold())
        if code is None:
            allowed = ", ".join(str(label) for _code, label in self.field.choices.pairs)
            raise Problem(_("“%(value)s” is not one of: %(allowed)s.", value=text_of(raw), allowed=allowed))
        return code


def _moment(raw, with_time: bool):
    if isinstance(raw, datetime):
        return raw.replace(microsecond=0, tzinfo=None)
    if isinstance(raw, date):
        return datetime.combine(raw, time())
    text = text_of(raw)
    match = _DATE.match(text) or _COMPACT_DATE.match(text)
    if match:
        parts = [int(p) if p else 0 for p in match.groups()] + [0] * (6 - len(match.groups()))
        try:
            return datetime(*parts[:6])
        except ValueError:
            pass
    if with_time:
        raise Problem(_("“%(value)s” is not a date and time such as 2026-03-31 14:30.", value=text))
    raise Problem(_("“%(value)s” is not a date such as 2026-03-31.", value=text))


def parse_date(raw) -> date:
    return _moment(raw, False).date()


def parse_datetime(raw, zone: str = "") -> datetime:
    """A moment as stored (naive UTC): with an offset (2026-12-07T17:24+08:00, Z) converted; without one (and
    every Excel date cell), local time in `zone` (the importing user's; "" the business zone)."""
    offset = None
    if not isinstance(raw, (date, datetime)):
        text = text_of(raw)
        found = _OFFSET.search(text) if re.search(r"\d[:：]\d{2}", text) else None
        if found:
            raw = text[:found.start()]
            sign = -1 if found.group(2) == "-" else 1
            offset = timezone(sign * timedelta(hours=int(found.group(3) or 0), minutes=int(found.group(4) or 0)))
    moment = _moment(raw, True)
    if offset is not None:
        return to_utc(moment.replace(tzinfo=offset))
    try:
        return to_utc(moment, zone=valid_zone(zone))
    except NoSuchLocalTime as error:
        raise Problem(str(error)) from None


def parse_int(raw, field: Field) -> int:
    if isinstance(raw, bool):
        raw = str(raw)
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if not isinstance(raw, int):
        text = text_of(raw).replace(",", "")
        raw = int(text) if re.fullmatch(r"[+-]?\d+", text) else None
    if raw is None or (field.low is not None and raw < field.low) or (field.high is not None and raw > field.high):
        raise Problem(_("Enter a whole number from %(low)s to %(high)s.", low=field.low, high=f"{field.high:,}"))
    return raw


def parse_money(raw) -> Decimal:
    try:
        if isinstance(raw, bool):
            raise InvalidOperation
        amount = Decimal(str(raw)) if isinstance(raw, (int, float)) else Decimal(_MONEY_NOISE.sub("", text_of(raw)))
    except InvalidOperation:
        raise Problem(_("“%(value)s” is not an amount such as 1234.50.", value=text_of(raw))) from None
    if not amount.is_finite():
        raise Problem(_("“%(value)s” is not an amount such as 1234.50.", value=text_of(raw)))
    amount = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    if amount <= 0:
        raise Problem(_("Enter an amount greater than zero."))
    if amount > MAX_AMOUNT:
        raise Problem(_("The amount is too large."))
    return amount


def parse_phone(raw, region: str) -> str:
    number = e164(text_of(raw), region)
    if number is None:
        raise Problem(_("Enter a valid phone number, for example 13812345678 or +86 138 1234 5678."))
    return number


def parse_email(raw) -> str:
    text = text_of(raw)
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        raise Problem(_("“%(value)s” is not a valid email address.", value=text)) from None
    if len(text) > 254:
        raise Problem(_("Longer than %(max)d characters.", max=254))
    return text


def parse_text(raw, field: Field) -> str:
    text = text_of(raw)
    if field.max_length and len(text) > field.max_length:
        raise Problem(_("Longer than %(max)d characters.", max=field.max_length))
    return text


def parse_currency(raw) -> str:
    text = text_of(raw).upper()
    if not re.fullmatch(r"[A-Z]{3}", text):
        raise Problem(_("Enter a three-letter currency code such as CNY."))
    return text


class Parser:
    """Reads every mapped cell of a kind's rows; built once per import (choice labels resolved once)."""

    def __init__(self, fields: dict[str, Field], region: str, now: datetime, zone: str = ""):
        self.fields, self.region, self.now, self.zone = fields, region, now, zone
        self.choices = {name: Choice(f) for name, f in fields.items() if f.kind == "choice"}

    def __call__(self, field: Field, raw):
        kind = field.kind
        if kind == "text":
            return parse_currency(raw) if field.name == "currency" else parse_text(raw, field)
        if kind == "choice":
            return self.choices[field.name](raw)
        if kind == "phone":
            return parse_phone(raw, self.region)
        if kind == "email":
            return parse_email(raw)
        if kind == "money":
            return parse_money(raw)
        if kind in ("int", "customer_id"):
            if kind == "customer_id":
                return parse_int(raw, Field("customer_id", "", low=1, high=2**31 - 1))
            return parse_int(raw, field)
        if kind == "date":
            value = parse_date(raw)
            if field.name == "birthday" and value > self.now.date():
                raise Problem(_("This date cannot be in the future."))
            return value
        if kind == "datetime":
            value = parse_datetime(raw, self.zone)
            if value > self.now:
                raise Problem(_("This date cannot be in the future."))
            return value
        if kind in ("user", "campaign"):
            return text_of(raw)  # resolved against the database for all rows at once
        raise AssertionError(kind)
