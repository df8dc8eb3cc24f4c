"""The build-versus-buy review of a use case: its AI spend of the last 30 days, annualised, set
against the review threshold (`AIFINOPS_BUILD_VS_BUY_ANNUAL`, in `AIFINOPS_BUILD_VS_BUY_CURRENCY`).
A use case is flagged from `AIFINOPS_BUILD_VS_BUY_APPROACH_PCT` % of the threshold.

The use case page shows the flag of one use case (`build_vs_buy_for`); the executive dashboard
lists every flagged use case (`build_vs_buy_rows` over its run-rate rows). Spend is read through
portfolio's door to showback (portfolio/spend.py).
"""

import datetime
from decimal import Decimal

from django.conf import settings

from aifinops.core import periods

from .. import spend

ZERO = Decimal("0")
DAYS_PER_YEAR = Decimal(365)
RUN_RATE_DAYS = 30


def build_vs_buy_rows(run_rate_rows, use_cases):
    """The use cases whose annualised model spend reaches the review level, largest first."""
    threshold = settings.AIFINOPS_BUILD_VS_BUY_ANNUAL
    currency = settings.AIFINOPS_BUILD_VS_BUY_CURRENCY
    level = threshold * settings.AIFINOPS_BUILD_VS_BUY_APPROACH_PCT / 100
    rows = []
    for r in run_rate_rows:
        if r["currency"] != currency:
            continue
        annualised = (r["total"] * DAYS_PER_YEAR / Decimal(RUN_RATE_DAYS)).quantize(Decimal("0.01"))
        uc = use_cases.get(r["use_case_id"])
        if uc is None or annualised < level:
            continue
        rows.append(
            {
                "use_case": uc.name,
                "key": uc.key,
                "url": uc.get_absolute_url(),
                "team": uc.team.name,
                "last_30_days": r["total"],
                "annualised": annualised,
                "threshold": threshold,
                "of_threshold": annualised / threshold,
                "over": annualised >= threshold,
                "currency": currency,
            }
        )
    rows.sort(key=lambda r: -r["annualised"])
    return rows


def build_vs_buy_for(*, use_case, today=None):
    """The build-versus-buy flag of one use case ({annualised, threshold, over, ...}), or None when
    its annualised model spend is below the review level. Two queries."""
    day = today or periods.today()
    as_of = spend.spend_data_through(today=day) or day
    currency = settings.AIFINOPS_BUILD_VS_BUY_CURRENCY
    by_month = spend.use_case_monthly_spend(
        use_case=use_case, start=as_of - datetime.timedelta(days=RUN_RATE_DAYS - 1), end=as_of
    )
    total = sum((totals.get(currency, ZERO) for totals in by_month.values()), ZERO)
    if not total:
        return None
    rows = build_vs_buy_rows(
        [{"use_case_id": use_case.pk, "currency": settings.AIFINOPS_BUILD_VS_BUY_CURRENCY, "total": total}],
        {use_case.pk: use_case},
    )
    if not rows:
        return None
    return {**rows[0], "as_of": as_of, "approach_pct": settings.AIFINOPS_BUILD_VS_BUY_APPROACH_PCT}
