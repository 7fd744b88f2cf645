"""What each kind of import can fill, and which file column goes to which field (English or Chinese headers).

A column is matched to a field when its header, once case, spaces and punctuation are set aside, is the field's
name, its label in English or in Chinese (the same words the screens use), or a usual synonym (手机号, 邮箱 ...).
A user's own mapping, remembered per kind, wins over the automatic one.
"""
import re
from dataclasses import dataclass

from flask_babel import force_locale, lazy_gettext as _l

from .. import choices as enums
from ..labels import LABELS


@dataclass(frozen=True)
class Field:
    name: str
    label: object  # a lazy string: shown in the user's language
    kind: str = "text"  # text, choice, date, datetime, int, money, phone, email, user, campaign, customer_id
    required: bool = False
    max_length: int | None = None
    choices: enums.Choices | None = None
    low: int | None = None
    high: int | None = None
    aliases: tuple[str, ...] = ()


def _f(name: str, kind: str = "text", label=None, **kw) -> Field:
    return Field(name, label or LABELS[name], kind, **kw)


CUSTOMER_REFS = ("customer_id", "customer_mobile", "customer_email")
_CUSTOMER_REF_FIELDS = (
    _f("customer_id", "customer_id", aliases=("客户编号", "客户id", "客户号", "customer no", "customer number")),
    _f("customer_mobile", "phone", _l("Customer's mobile phone"),
       aliases=("mobile", "手机", "手机号", "手机号码", "客户手机", "电话", "联系电话", "phone", "mobile phone",
                "cell")),
    _f("customer_email", "email", _l("Customer's email address"),
       aliases=("email", "e-mail", "邮箱", "电子邮箱", "电子邮件", "客户邮箱")),
)

FIELDS: dict[str, tuple[Field, ...]] = {
    "customers": (
        _f("name", required=True, max_length=120, aliases=("姓名", "名字", "客户名称", "客户姓名", "客户", "联系人",
                                                             "customer name", "full name")),
        _f("kind", "choice", choices=enums.CUSTOMER_KIND, aliases=("客户类型", "类型", "customer kind", "type")),
        _f("gender", "choice", choices=enums.GENDER, aliases=("性别", "sex")),
        _f("birthday", "date", aliases=("生日", "出生日期", "date of birth", "birth date")),
        _f("mobile", "phone", aliases=("手机", "手机号", "手机号码", "移动电话", "电话", "联系电话", "phone", "cell",
                                       "mobile", "tel", "telephone")),
        _f("email", "email", aliases=("邮箱", "电子邮箱", "电子邮件", "邮件", "e-mail", "mail")),
        _f("address", max_length=255, aliases=("地址", "联系地址")),
        _f("region", max_length=64, aliases=("区域", "地区")),
        _f("company_name", max_length=200, aliases=("公司", "公司名称", "单位", "单位名称", "company")),
        _f("position", max_length=100, aliases=("职位", "职务", "title", "job title")),
        _f("industry", max_length=64, aliases=("行业",)),
        _f("company_size", "choice", choices=enums.COMPANY_SIZE, aliases=("公司规模", "规模")),
        _f("source", "choice", choices=enums.SOURCE, aliases=("来源", "来源渠道", "source")),
        _f("preferences", max_length=5000, aliases=("偏好",)),
        _f("interests", max_length=5000, aliases=("兴趣", "兴趣爱好")),
        _f("needs", max_length=5000, aliases=("需求", "需求特点")),
        _f("notes", max_length=5000, aliases=("备注", "说明", "note")),
        _f("tags", max_length=255, aliases=("标签",)),
        _f("credit_rating", "choice", choices=enums.CREDIT_RATING, aliases=("信用等级", "信用", "credit")),
        _f("owner", "user", aliases=("负责人", "客户负责人", "所属员工", "owner username")),
        _f("follow_up_days", "int", low=1, high=365, aliases=("回访周期", "回访天数", "跟进周期")),
    ),
    "transactions": _CUSTOMER_REF_FIELDS + (
        _f("product", required=True, max_length=200, aliases=("产品", "商品", "产品名称", "商品名称")),
        _f("quantity", "int", low=1, high=1_000_000, aliases=("数量", "qty")),
        _f("amount", "money", required=True, aliases=("金额", "交易金额", "总额", "price")),
        _f("currency", aliases=("币种", "货币")),
        _f("occurred_at", "datetime", required=True, aliases=("交易时间", "时间", "日期", "date", "time",
                                                              "purchase date")),
        _f("channel", "choice", required=True, choices=enums.SALES_CHANNEL, aliases=("渠道", "销售渠道")),
        _f("status", "choice", choices=enums.TRANSACTION_STATUS, aliases=("状态", "交易状态")),
        _f("campaign", "campaign", aliases=("活动", "营销活动", "campaign name")),
    ),
    "interactions": _CUSTOMER_REF_FIELDS + (
        _f("occurred_at", "datetime", required=True, aliases=("联系时间", "时间", "日期", "date", "time")),
        _f("channel", "choice", required=True, choices=enums.CONTACT_CHANNEL, aliases=("渠道", "联系方式", "方式")),
        _f("direction", "choice", choices=enums.DIRECTION, aliases=("方向",)),
        _f("summary", required=True, max_length=5000, aliases=("摘要", "内容", "记录", "跟进内容", "沟通内容")),
        _f("outcome", max_length=255, aliases=("结果", "跟进结果")),
        _f("handled_by", "user", aliases=("处理人", "经办人", "跟进人")),
        _f("next_follow_up_on", "date", aliases=("下次跟进", "下次回访", "下次跟进日期", "next follow-up date")),
    ),
}
IMPORT_KINDS = tuple(FIELDS)
# Each kind's resource, for its permissions (crmadmin/auth/permissions.py).
RESOURCES = {"customers": "customers", "transactions": "transactions", "interactions": "interactions"}
KIND_LABELS = {"customers": _l("Customers"), "transactions": _l("Transactions"), "interactions": _l("Interactions")}

_PUNCTUATION = re.compile(r"[\s_\-*:：.·()（）\[\]【】/#]+")


_ZONE = re.compile(r"\s*[(（][A-Za-z_]+(?:/[A-Za-z0-9_+-]+)+[)）]\s*$")  # an export's "时间 (Asia/Shanghai)"


def normalise(header: str) -> str:
    """A header as compared: case, spaces, punctuation and the time zone an export names set aside ("E-mail *" ==
    "email", "Time (Asia/Shanghai)" == "time")."""
    return _PUNCTUATION.sub("", _ZONE.sub("", str(header)).casefold())


def fields_of(kind: str, may_assign_owner: bool = True) -> tuple[Field, ...]:
    """The fields a user may fill for this kind (the owner only by those who may assign owners)."""
    return tuple(f for f in FIELDS[kind] if may_assign_owner or f.name != "owner")


def _words(field: Field) -> list[str]:
    words = [field.name, str(field.label)]
    with force_locale("zh_CN"):
        words.append(str(field.label))
    with force_locale("en"):
        words.append(str(field.label))
    return [normalise(w) for w in (*words, *field.aliases)]


def auto_mapping(kind: str, headers: list[str], remembered: dict[str, str] | None = None,
                 may_assign_owner: bool = True) -> dict[int, str]:
    """column index -> field name: the user's remembered choice for a header first, else the first match."""
    fields = fields_of(kind, may_assign_owner)
    known = {f.name for f in fields}
    words = {}
    for f in fields:  # a word claimed by an earlier field (e.g. 手机 by the mobile) stays with it
        for word in _words(f):
            words.setdefault(word, f.name)
    mapping: dict[int, str] = {}
    taken: set[str] = set()
    for index, header in enumerate(headers):
        key = normalise(header)
        chosen = (remembered or {}).get(key)
        if chosen == "":
            continue  # the user chose to ignore this column last time
        if chosen not in known:
            chosen = words.get(key)
        if chosen and chosen not in taken:
            mapping[index] = chosen
            taken.add(chosen)
    return mapping


def mapping_problems(kind: str, mapping: dict[int, str], may_assign_owner: bool = True) -> list[str]:
    """Why a mapping cannot be used: a required field with no column, a field given two columns."""
    from flask_babel import gettext as _

    fields = {f.name: f for f in fields_of(kind, may_assign_owner)}
    problems = []
    chosen = list(mapping.values())
    for name in sorted({n for n in chosen if chosen.count(n) > 1}):
        problems.append(_("%(field)s is chosen for more than one column.", field=fields[name].label))
    for f in fields.values():
        if f.required and f.name not in chosen:
            problems.append(_("Choose the column that holds %(field)s: it is required.", field=f.label))
    if kind != "customers" and not set(CUSTOMER_REFS) & set(chosen):
        problems.append(_("Choose a column that identifies the customer: customer ID, mobile phone or email."))
    if kind == "customers" and not {"mobile", "email"} & set(chosen):
        problems.append(_("Choose the mobile phone or email column: customers are recognised by them when a file "
                          "is imported again."))
    return problems
