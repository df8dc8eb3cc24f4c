"""The one door from portfolio to showback's spend ledger.

Portfolio sits below showback in the dependency order (`council > intake | showback > portfolio >
aifinops.core`, checked by import-linter), yet a few portfolio pages and rules read spend: whether a
use case had spend lately (a gate fact), its monthly spend, its unit economics, its spend summary,
trend and build-versus-buy run rate (the use case page), the actual spend beside the expected in
the portfolio list, a team's spend summary and trend chart (the team page). Every other portfolio
module reads spend only through the functions below.

The door is filled from above, never reached from below: portfolio names the reads it needs, and
showback registers its own selectors for them when the app registry is ready
(`showback.apps.ShowbackConfig.ready()` calls `register(...)`). Each function here is then a single
call into that showback function, so the queries, their number and the results are showback's own.
Portfolio never imports showback, and a read that nothing registered fails loudly
(ImproperlyConfigured naming it) instead of returning nothing.
"""

from django.core.exceptions import ImproperlyConfigured

# The reads the door offers, by name: showback registers one function for each.
READS = (
    "use_case_has_recent_spend",  # (*, use_case, days) -> bool
    "use_case_monthly_spend",  # (*, use_case, start, end) -> {month: {currency: total}}
    "use_case_spend_summary",  # (*, use_case) -> {"month_to_date", "last_month", "by_model"}
    "use_case_spend_totals",  # (*, use_case_ids) -> {id: {"month_to_date", "last_month"}}
    # (*, user, team) -> {"month_to_date", "last_month", their "_reporting" Converted, "trend"}
    "team_spend_summary",
    "use_case_spend_trend",  # (*, use_case) -> its monthly trend in the reporting currency
    # (*, use_case, months, into) -> its AI spend, other costs and value per month, in `into`
    "use_case_month_economics",
    "monthly_trend_chart",  # (trend in the reporting currency, *, title) -> chart JSON
    "spend_data_through",  # (*, today) -> the latest day with imported spend, or None
)

_registered = {}


def register(**reads):
    """Fill the door: `register(use_case_monthly_spend=fn, ...)`. Called by showback at ready()."""
    unknown = sorted(set(reads) - set(READS))
    if unknown:
        raise ImproperlyConfigured(f"portfolio.spend offers no read named {', '.join(unknown)}.")
    _registered.update(reads)


def _read(name):
    try:
        return _registered[name]
    except KeyError:
        raise ImproperlyConfigured(
            f"portfolio.spend.{name} has no implementation: showback registers it at ready() "
            "(is showback in INSTALLED_APPS?)."
        ) from None


def use_case_has_recent_spend(*, use_case, days=14):
    """Whether spend was attributed to the use case in the last `days` days (a gate fact)."""
    return _read("use_case_has_recent_spend")(use_case=use_case, days=days)


def use_case_monthly_spend(*, use_case, start, end):
    """{month (first day): {currency: effective cost}} of one use case's AI spend, start..end."""
    return _read("use_case_monthly_spend")(use_case=use_case, start=start, end=end)


def use_case_spend_summary(*, use_case):
    """The spend of one use case; the caller has already checked that the user may see it."""
    return _read("use_case_spend_summary")(use_case=use_case)


def use_case_spend_totals(*, use_case_ids):
    """{use case id: {"month_to_date": {currency: total}, "last_month": {...}}}: the same figures as
    `use_case_spend_summary`, for many use cases in one query (the portfolio list's columns). The
    caller has already kept only the use cases the user may see."""
    return _read("use_case_spend_totals")(use_case_ids=use_case_ids)


def team_spend_summary(*, user, team):
    """A team's spend this month and last month (per currency and in the reporting currency) and
    its monthly trend in the reporting currency, each day at its rate, as the user may see it."""
    return _read("team_spend_summary")(user=user, team=team)


def use_case_spend_trend(*, use_case):
    """One use case's AI spend per month over the last twelve, in the reporting currency, each day
    at its rate (as `team_spend_summary`'s trend); the caller has already checked that the user
    may see it."""
    return _read("use_case_spend_trend")(use_case=use_case)


def use_case_month_economics(*, use_case, months, into):
    """One use case's AI spend (each day at its rate), other recorded costs and value (at the rate
    of the first day of their month) for each of `months`, in `into`, by the conversion of
    showback's unit economics, what has no rate named; and the first month it had AI spend. The
    caller has already checked that the user may see the use case."""
    return _read("use_case_month_economics")(use_case=use_case, months=months, into=into)


def monthly_trend_chart(trend, *, title):
    """The chart of a monthly spend trend (as `team_spend_summary` returns it)."""
    return _read("monthly_trend_chart")(trend, title=title)


def spend_data_through(*, today):
    """The latest day with imported spend, up to today: bills arrive a day or more late."""
    return _read("spend_data_through")(today=today)
