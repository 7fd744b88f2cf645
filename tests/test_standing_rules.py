"""The standing rules on hand-built figures: each threshold, one day (or one unit) on each side."""
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from crmadmin.standing.rules import Figures, Rules, add_months, next_due, stage, tier

TODAY = date(2026, 6, 15)
RULES = Rules()


def ago(days: int) -> datetime:
    return datetime.combine(TODAY - timedelta(days=days), datetime.min.time()) + timedelta(hours=10)


def buyer(count=1, first_days=None, last_days=10, window_count=None, amount="0", recent=None, previous="0", **kw):
    """A customer with `count` paid purchases, the first `first_days` and the last `last_days` days ago."""
    first_days = last_days if first_days is None else first_days
    return Figures(created_at=ago(max(first_days, last_days) + 30), purchase_count=count,
                   first_purchase_at=ago(first_days), last_purchase_at=ago(last_days),
                   window_count=count if window_count is None else window_count, window_amount=Decimal(amount),
                   recent_amount=Decimal(amount if recent is None else recent), previous_amount=Decimal(previous), **kw)


@pytest.mark.parametrize("amount, orders, days, expected", [
    ("20000", 4, 90, "high"),      # exactly at every high minimum
    ("19999.99", 4, 90, "medium"),  # one cent short
    ("20000", 3, 90, "medium"),    # one order short
    ("20000", 4, 91, "medium"),    # one day too long ago
    ("5000", 2, 180, "medium"),    # exactly at every medium minimum
    ("4999.99", 2, 180, "low"),
    ("5000", 1, 180, "low"),
    ("5000", 2, 181, "low"),
    ("0", 0, 400, "low"),          # bought once, long ago: low, not "none"
])
def test_tier_at_each_threshold(amount, orders, days, expected):
    """Is the tier high, medium or low exactly as the amount, orders and recency fall either side of a minimum?"""
    f = buyer(count=max(orders, 1), first_days=days + 10, last_days=days, window_count=orders, amount=amount)
    assert tier(f, RULES, TODAY)[0] == expected


def test_a_customer_who_never_bought_has_no_tier_and_is_potential():
    """Is someone with no paid purchase without a tier, and a potential customer?"""
    f = Figures(created_at=ago(3))
    assert tier(f, RULES, TODAY) [0] is None
    assert stage(f, RULES, TODAY)[0] == "potential"


def test_a_low_tier_says_which_minimums_were_missed():
    """Does the reason for a low tier name every medium minimum the customer missed?"""
    _, reason = tier(buyer(count=1, last_days=200, amount="100"), RULES, TODAY)
    assert reason.code == "low"
    assert [m.code for m in reason.values["missed"]] == ["amount_below", "orders_below", "too_long_ago"]


@pytest.mark.parametrize("figures, expected", [
    (dict(count=1, last_days=90), "new"),                          # first purchase exactly new_days ago
    (dict(count=2, first_days=91, last_days=30, amount="10"), "active"),  # one day past new
    (dict(count=1, last_days=91), "at_risk"),                      # single purchase, silent past at_risk_min_days
    (dict(count=3, first_days=180, last_days=0, amount="30"), "loyal"),   # repeat buyer over exactly 180 days
    (dict(count=3, first_days=179, last_days=0, amount="30"), "active"),  # one day short of the loyal span
    (dict(count=2, first_days=200, last_days=10, amount="20"), "active"),  # two orders: not yet loyal
    (dict(count=5, first_days=364, last_days=364, window_count=0), "at_risk"),  # silent a long time, not yet churned
    (dict(count=5, first_days=700, last_days=365, window_count=0), "churned"),  # exactly churned_days
])
def test_stage_at_each_threshold(figures, expected):
    """Is the lifecycle stage the one each threshold gives, one day on either side?"""
    assert stage(buyer(**figures), RULES, TODAY)[0] == expected


def test_silence_is_measured_against_the_customers_own_rhythm():
    """Is a customer who buys every 60 days at risk after 2 x 60 = 120 silent days, and not at 120?"""
    # 5 purchases over 240 days: one every 60 days
    steady = dict(count=5, first_days=240 + 120, amount="500", recent="250", previous="250")
    assert stage(buyer(last_days=120, **steady), RULES, TODAY)[0] == "loyal"
    flagged, reason = stage(buyer(last_days=121, first_days=361, count=5, amount="500", recent="250",
                                  previous="250"), RULES, TODAY)
    assert flagged == "at_risk" and reason.code == "silent" and reason.values["interval"] == 60


@pytest.mark.parametrize("recent, expected", [("500", "at_risk"), ("500.01", "loyal")])
def test_spend_falling_by_half_is_a_churn_warning(recent, expected):
    """Does spend in the recent half of the window 50% below the half before put a loyal buyer at risk?"""
    f = buyer(count=8, first_days=400, last_days=5, amount=str(Decimal("1000") + Decimal(recent)),
              recent=recent, previous="1000")
    value, reason = stage(f, RULES, TODAY)
    assert value == expected
    if expected == "at_risk":
        assert reason.code == "spend_fell" and reason.values["percent"] == 50


def test_due_date_is_the_cadence_after_the_last_contact():
    """Is the next follow-up 14 days after the last contact by default, 7 for high value, or the customer's own?"""
    contacted = Figures(created_at=ago(100), last_contact_at=ago(3))
    assert next_due(contacted, "low", RULES) == (TODAY - timedelta(days=3) + timedelta(days=14), False)
    assert next_due(contacted, "high", RULES) == (TODAY - timedelta(days=3) + timedelta(days=7), False)
    own = Figures(created_at=ago(100), last_contact_at=ago(3), customer_follow_up_days=30)
    assert next_due(own, "high", RULES) == (TODAY - timedelta(days=3) + timedelta(days=30), False)


def test_a_date_set_when_logging_the_contact_wins():
    """Does the date the clerk chose when logging the latest contact replace the cadence?"""
    f = Figures(created_at=ago(100), last_contact_at=ago(3), contact_next_on=TODAY + timedelta(days=40))
    assert next_due(f, "high", RULES) == (TODAY + timedelta(days=40), True)


def test_a_customer_nobody_contacted_is_due_a_cadence_after_registration():
    """Is a new customer nobody has called yet due 14 days after they were registered?"""
    assert next_due(Figures(created_at=ago(20)), None, RULES) == (TODAY - timedelta(days=6), False)


def test_rules_read_from_settings_keep_defaults_and_types():
    """Do stored text settings become typed rules, with defaults for what is not stored?"""
    rules = Rules.from_settings({"high_min_amount": "30000.50", "follow_up_days_high": "", "unknown": "x"})
    assert rules.high_min_amount == Decimal("30000.50") and rules.follow_up_days_high is None
    assert rules.medium_min_amount == Decimal("5000") and rules.window_months == 12


def test_the_window_counts_calendar_months():
    """Is a 12-month window from 31 March 2026 the 31 March before, and from 31 May one month back the 30 April?"""
    assert add_months(date(2026, 3, 31), -12) == date(2025, 3, 31)
    assert add_months(date(2026, 5, 31), -1) == date(2026, 4, 30)
    assert add_months(date(2024, 3, 31), -1) == date(2024, 2, 29)
