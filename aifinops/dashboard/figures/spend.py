"""Figures of where the money goes: budgets, the trend and forecast, premium share, vendor overlap,
the top use cases, unattributed and unowned spend."""

from collections import defaultdict
from decimal import Decimal

from django.db.models import Q
from django.urls import reverse

from aifinops.core import periods
from portfolio.choices import ModelTier
from showback.analytics import selectors as analytics
from showback.budgets import selectors as budget_selectors
from showback.models import BudgetScope

from ..common import Dataset, _growth, _rates_notes, _share
from ..data import FORECAST_MONTHS, ZERO, DashboardData, main_currency

TOP_N = 10


def budget_figure(data: DashboardData) -> Dataset:
    f = data.filters
    qs = budget_selectors.budget_queryset(user=data.user).filter(
        active=True, scope__in=(BudgetScope.FUNCTION, BudgetScope.TEAM)
    )
    if f.team is not None:
        qs = qs.filter(Q(team=f.team) | Q(scope=BudgetScope.FUNCTION, function=f.team.business_function))
    if f.function:
        qs = qs.filter(Q(function=f.function) | Q(team__business_function=f.function))
    budgets = list(qs.order_by("scope", "name", "id"))
    statuses = budget_selectors.budget_statuses(budgets, today=data.today)
    rows = []
    for b in budgets:
        s = statuses[b.pk]
        rows.append(
            {
                "kind": "Function" if b.scope == BudgetScope.FUNCTION else "Team",
                "target": b.target,
                "budget": b.name,
                "url": b.target_url or "",
                "period_start": s.period_start,
                "period_end": s.period_end,
                "as_of": s.as_of,
                "amount": b.amount,
                "actual": s.actual,
                "projected": s.projected,
                "used_pct": s.used_pct,
                "state": s.state,
                "currency": b.currency,
            }
        )
    budgeted_teams = {b.team_id for b in budgets if b.team_id}
    unbudgeted = sorted(
        {data.teams[r["team_id"]].name for r in data.period_rows if r["team_id"] and r["spend"]}
        - {data.teams[t].name for t in budgeted_teams if t in data.teams}
    )
    ds = Dataset(
        "budget",
        "Spend against budget, by function and team",
        [
            ("kind", "scope"),
            ("target", "function or team"),
            ("budget", "budget"),
            ("period_start", "period start"),
            ("period_end", "period end"),
            ("as_of", "spend through"),
            ("amount", "budget amount"),
            ("actual", "spent"),
            ("projected", "projected at period end"),
            ("used_pct", "used %"),
            ("state", "state"),
            ("currency", "currency"),
        ],
        rows,
        currency=main_currency({r["currency"]: r["amount"] for r in rows}),
        headline={"unbudgeted_teams": unbudgeted},
    )
    ds.notes.append(
        "Each budget over its own current period (month, quarter or year), not the filter's period."
    )
    return ds


# The monthly trend and the forecast band.


def trend_figure(data: DashboardData) -> Dataset:
    """In the reporting currency: each currency's spend counted at each day's rate."""
    currency = data.reporting_currency
    by_month, missing, conv, _premium = data.trend_reporting
    this_month = periods.month_start(data.today)
    rows = []
    for month in data.trend_months:
        rows.append(
            {
                "month": month,
                "kind": "to date" if month == this_month else "actual",
                "actual": by_month.get(month, ZERO).quantize(Decimal("0.01")),
                "forecast": None,
                "lower": None,
                "upper": None,
                "currency": currency,
                "not_converted": _amounts(missing.get(month, {})),
            }
        )
    ds = Dataset(
        "trend",
        "Monthly AI spend and forecast",
        [
            ("month", "month"),
            ("kind", "kind"),
            ("actual", "spent"),
            ("forecast", "forecast"),
            ("lower", "forecast low (80 %)"),
            ("upper", "forecast high (80 %)"),
            ("currency", "currency"),
            ("not_converted", "left out: no exchange rate"),
        ],
        rows,
        currency=currency,
        notes=_rates_notes(conv),
    )
    shows_now = periods.month_start(data.filters.end) >= periods.months_back(this_month, 1)
    if not shows_now:
        ds.notes.append("The forecast is drawn when the period reaches last month or this one.")
        return ds
    f = data.filters
    view = analytics.forecast_get(
        user=data.user,
        months=FORECAST_MONTHS,
        as_of=data.today,
        spend_q=f.spend_q() if f.narrowed else None,
        use_case_q=f.use_case_q(prefix="use_case__") if f.narrowed else None,
        currency=currency,  # the reporting currency: the forecast page's own
        with_backtest=False,
    )
    if not view.history.months:
        return ds
    result = view.forecast
    for point in result.points:
        row = next((r for r in rows if r["month"] == point.month), None)
        if row is None:
            row = {"month": point.month, "kind": "forecast", "actual": None, "currency": currency}
            rows.append(row)
        row["forecast"] = point.value
        row["lower"] = point.lower if result.has_band else None
        row["upper"] = point.upper if result.has_band else None
    ds.headline = {
        "method": result.method_label,
        "has_band": result.has_band,
        "next_month": result.points[1].value if len(result.points) > 1 else None,
        "this_month": result.points[0].value,
    }
    if not result.has_band:
        ds.notes.append("No band: fewer than six complete months of history.")
    if result.adjusted:
        ds.notes.append("The forecast includes the planners' assumptions, as on the forecast page.")
    return ds


# Where spend sits in the portfolio: stages, risk and autonomy.


def premium_figure(data: DashboardData) -> Dataset:
    """In the reporting currency, each day at its rate, as the trend."""
    currency = data.reporting_currency
    by_month, missing, conv, premium_by_month = data.trend_reporting
    cent = Decimal("0.01")
    rows = []
    for month in data.trend_months:
        total = by_month.get(month, ZERO).quantize(cent)
        premium = premium_by_month.get(month, ZERO).quantize(cent)
        rows.append(
            {
                "month": month,
                "premium": premium,
                "total": total,
                "share": _share(premium, total),
                "currency": currency,
                "not_converted": _amounts(missing.get(month, {})),
            }
        )
    return Dataset(
        "premium",
        "Premium model share over time",
        [
            ("month", "month"),
            ("premium", "frontier and reasoning spend"),
            ("total", "all AI spend"),
            ("share", "premium share"),
            ("currency", "currency"),
            ("not_converted", "left out: no exchange rate"),
        ],
        rows,
        currency=currency,
        notes=_rates_notes(conv),
    )


def overlap_figure(data: DashboardData) -> Dataset:
    """Teams paying more than one provider for the same model tier, in the period: showback's one
    vendor-overlap selector over the dashboard's slice, each provider's spend in the reporting
    currency (each day at its rate) with its spend as billed beside it."""
    currency = data.reporting_currency
    cent = Decimal("0.01")
    rows, notes = [], []
    for o in data.vendor_overlap:
        billed = defaultdict(dict)
        for provider, billed_in, amount in o["providers"]:
            billed[provider][billed_in] = amount
        for provider, amount in o["providers_reporting"].items():
            rows.append(
                {
                    "team": o["team"],
                    "team_url": reverse("portfolio:team_detail", args=[o["team_key"]]),
                    "tier": o["tier"],
                    "provider": provider,
                    "spend": None if amount is None else amount.quantize(cent),
                    "team_tier_total": o["total"].amount.quantize(cent),
                    "currency": currency,
                    "as_billed": _amounts(billed[provider]),
                    "not_converted": _amounts(o["providers_missing"].get(provider, {})),
                }
            )
        notes.extend(f"Not in this chart: {o['team']} · {o['tier']}: {m}." for m in o["total"].missing)
    # Tiers from small up, in ModelTier's order as the catalog lists them, not by their names.
    tier_rank = {label: rank for rank, label in enumerate(ModelTier.labels)}
    rows.sort(key=lambda r: (r["team"], tier_rank.get(r["tier"], len(tier_rank)), -(r["spend"] or ZERO)))
    rates = sorted({str(r) for o in data.vendor_overlap for r in o["total"].rates})
    if rates:
        notes.insert(0, f"In {currency}: other currencies at each day's rate (latest: {'; '.join(rates)}).")
    return Dataset(
        "overlap",
        "Vendor overlap: teams paying several providers for one model tier",
        [
            ("team", "team"),
            ("tier", "model tier"),
            ("provider", "provider"),
            ("spend", "spend in period"),
            ("team_tier_total", "team and tier total"),
            ("currency", "currency"),
            ("as_billed", "spend in period as billed"),
            ("not_converted", "left out: no exchange rate"),
        ],
        rows,
        currency=currency,
        headline={"pairs": len(data.vendor_overlap)},
        notes=notes,
    )


# The use cases that cost most, and that grew most.


def _amounts(by_currency: dict) -> str:
    """{currency: amount} as one line of text, largest first ("300.00 USD + 70.00 EUR"); "" when
    empty."""
    return " + ".join(
        f"{amount:.2f} {currency}"
        for currency, amount in sorted(by_currency.items(), key=lambda kv: (-kv[1], kv[0]))
        if amount
    )


def _use_case_rows(data: DashboardData):
    """One row per use case in the reporting currency (each day at its rate), with its spend as
    billed and what of it had no rate, named, never counted at 1."""
    rows = []
    currency = data.reporting_currency
    for uc_id, e in data.reporting_by_use_case.items():
        if uc_id is None or (not e["spend"] and not e["before"] and not e["missing"]):
            continue
        uc = data.use_cases.get(uc_id)
        now, before = e["spend"].quantize(Decimal("0.01")), e["before"].quantize(Decimal("0.01"))
        rows.append(
            {
                "use_case": uc.name if uc else "A use case you cannot see",
                "key": uc.key if uc else "",
                "url": data.use_case_url(uc) if uc else "",
                "team": uc.team.name if uc else "",
                "stage": uc.get_stage_display() if uc else "",
                "spend": now,
                "before": before,
                "change": now - before,
                "growth": _growth(now, before),
                "currency": currency,
                "as_billed": _amounts(e["original"]),
                "not_converted": _amounts(e["missing"]),
            }
        )
    return rows


USE_CASE_COLUMNS = [
    ("use_case", "use case"),
    ("key", "key"),
    ("team", "team"),
    ("stage", "stage"),
    ("spend", "spend in period"),
    ("before", "spend in the period before"),
    ("change", "change"),
    ("growth", "growth"),
    ("currency", "currency"),
    ("as_billed", "spend in period as billed"),
    ("not_converted", "left out: no exchange rate"),
]


def _use_case_spend_list(data: DashboardData):
    """Showback's spend by use case for the same period: the list the top use cases are the first of."""
    return f"{reverse('showback:index')}?by=use_case&start={data.filters.start}&end={data.filters.end}"


def top_cost_figure(data: DashboardData) -> Dataset:
    rows = sorted(_use_case_rows(data), key=lambda r: (-r["spend"], r["use_case"]))
    return Dataset(
        "top_cost",
        "Top use cases by cost",
        USE_CASE_COLUMNS,
        rows[:TOP_N] if len(rows) > TOP_N else rows,
        currency=data.reporting_currency,
        notes=_rates_notes(data.reporting),
        see_all=_use_case_spend_list(data),
        total=len({r["key"] for r in rows}),
    )


def top_growth_figure(data: DashboardData) -> Dataset:
    """By the amount added, not the percentage: a use case going from $5 to $50 is not news."""
    every = _use_case_rows(data)
    rows = [r for r in every if r["change"] > 0]
    rows.sort(key=lambda r: (-r["change"], r["use_case"]))
    start, end = data.filters.previous
    return Dataset(
        "top_growth",
        "Top use cases by growth",
        USE_CASE_COLUMNS,
        rows[:TOP_N],
        currency=data.reporting_currency,
        headline={"before_start": start, "before_end": end},
        notes=[f"Against {start:%-d %b %Y} to {end:%-d %b %Y}.", *_rates_notes(data.reporting)],
        see_all=_use_case_spend_list(data),
        total=len({r["key"] for r in every}),
    )


# Unit economics: cost per outcome against value per outcome.


def unowned_figure(data: DashboardData) -> Dataset:
    """In the reporting currency, each day at its rate, as the AI spend it is a share of."""
    currency = data.reporting_currency
    cent = Decimal("0.01")
    rows = []
    unattributed = data.reporting_sum(lambda g: g["team_id"], where=lambda g: g["use_case_id"] is None)
    for team_id, amount in unattributed.items():
        if not amount:
            continue
        team = data.teams.get(team_id)
        rows.append(
            {
                "kind": "Unattributed",
                "what": f"{team.name} (no use case)" if team else "No team, no use case",
                "url": "",
                "missing": "use case",
                "spend": amount.quantize(cent),
                "currency": currency,
            }
        )
    for uc_id, e in data.reporting_by_use_case.items():
        uc = data.use_cases.get(uc_id) if uc_id else None
        if uc is None or not e["spend"]:
            continue
        missing = [
            label
            for label, person in (
                ("business owner", uc.business_owner_id),
                ("technical owner", uc.technical_owner_id),
            )
            if person is None
        ]
        if missing:
            rows.append(
                {
                    "kind": "Unowned",
                    "what": uc.name,
                    "url": data.use_case_url(uc),
                    "missing": " and ".join(missing),
                    "spend": e["spend"].quantize(cent),
                    "currency": currency,
                }
            )
    rows.sort(key=lambda r: -r["spend"])
    total = data.reporting.amount
    unattr = sum((r["spend"] for r in rows if r["kind"] == "Unattributed"), ZERO)
    unowned = sum((r["spend"] for r in rows if r["kind"] == "Unowned"), ZERO)
    return Dataset(
        "unowned",
        "Unattributed and unowned spend",
        [
            ("kind", "kind"),
            ("what", "what"),
            ("missing", "missing"),
            ("spend", "spend in period"),
            ("currency", "currency"),
        ],
        rows,
        currency=currency,
        notes=_rates_notes(data.reporting),
        headline={
            "unattributed": unattr,
            "unowned": unowned,
            "unattributed_share": _share(unattr, total),
            "unowned_share": _share(unowned, total),
        },
    )


# The optimization backlog.
