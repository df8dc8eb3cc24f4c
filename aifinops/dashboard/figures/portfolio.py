"""Figures of the portfolio: stages, risk and autonomy, unit economics, the optimization backlog,
what waits for a decision and the build-versus-buy reviews."""

import datetime
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q, Sum

from aifinops.core import permissions
from portfolio.choices import AutonomyLevel, OptimizationLever, OptimizationStatus, RiskTier, Stage
from portfolio.models import OptimizationItem
from portfolio.value.build_vs_buy import build_vs_buy_rows

from .. import waiting
from ..common import Dataset, _rates_notes, _share
from ..data import ZERO, DashboardData, main_currency

FUNNEL = [Stage.CONCEPT, Stage.MVP, Stage.PILOT, Stage.LAUNCH, Stage.SCALE]


def _spend_per_use_case(data: DashboardData):
    """{use case id: the period's spend in the reporting currency}, each day at its rate."""
    cent = Decimal("0.01")
    return {uc_id: e["spend"].quantize(cent) for uc_id, e in data.reporting_by_use_case.items() if uc_id}


def funnel_figure(data: DashboardData) -> Dataset:
    currency = data.reporting_currency
    per_use_case = _spend_per_use_case(data)
    counts, spent = defaultdict(int), defaultdict(Decimal)
    for uc in data.use_cases.values():
        if data.in_slice(uc):
            counts[uc.stage] += 1
        spent[uc.stage] += per_use_case.get(uc.pk, ZERO)
    rows = [
        {
            "stage": Stage(stage).label,
            "use_cases": counts[stage],
            "spend": spent[stage],
            "currency": currency,
        }
        for stage in [*FUNNEL, Stage.SUNSET]
    ]
    return Dataset(
        "funnel",
        "Stage funnel, with spend per stage",
        [
            ("stage", "stage"),
            ("use_cases", "use cases"),
            ("spend", "spend in period"),
            ("currency", "currency"),
        ],
        rows,
        currency=currency,
        notes=_rates_notes(data.reporting),
    )


def risk_figure(data: DashboardData) -> Dataset:
    currency = data.reporting_currency
    per_use_case = _spend_per_use_case(data)
    cells = defaultdict(lambda: [0, ZERO])
    for uc in data.use_cases.values():
        cell = cells[uc.risk_tier, uc.autonomy_level]
        cell[0] += 1
        cell[1] += per_use_case.get(uc.pk, ZERO)
    rows = [
        {
            "risk_tier": RiskTier(risk).label,
            "autonomy_level": AutonomyLevel(autonomy).label,
            "use_cases": cells[risk, autonomy][0],
            "spend": cells[risk, autonomy][1],
            "currency": currency,
        }
        for risk in RiskTier.values
        for autonomy in AutonomyLevel.values
        if (risk, autonomy) in cells
    ]
    total = sum((r["spend"] for r in rows), ZERO)
    high = sum((r["spend"] for r in rows if r["risk_tier"] in ("High", "Critical")), ZERO)
    agentic = sum(
        (r["spend"] for r in rows if r["autonomy_level"] in ("Supervised agent", "Autonomous agent")), ZERO
    )
    return Dataset(
        "risk",
        "Spend by risk tier and autonomy level",
        [
            ("risk_tier", "risk tier"),
            ("autonomy_level", "autonomy level"),
            ("use_cases", "use cases"),
            ("spend", "spend in period"),
            ("currency", "currency"),
        ],
        rows,
        currency=currency,
        headline={"high_share": _share(high, total), "agentic_share": _share(agentic, total), "high": high},
        notes=_rates_notes(data.reporting),
    )


def _amounts(by_currency: dict) -> str:
    return " + ".join(f"{amount:.2f} {currency}" for currency, amount in by_currency.items() if amount)


def unit_economics_figure(data: DashboardData) -> Dataset:
    """Showback's one unit-economics selector (the showback page's cost per outcome is the same
    figure): AI spend and other recorded costs against the value delivered, in the reporting
    currency; what has no rate is named, and a ratio it would change is left out."""
    currency = data.reporting_currency
    ue = data.unit_economics
    rows = []
    for e in ue.rows:
        uc = e["use_case"]
        not_converted = {}
        for left in (e["missing"], e["other_costs_missing"], e["value_missing"]):
            for c, v in left.items():
                not_converted[c] = not_converted.get(c, ZERO) + v
        rows.append(
            {
                "use_case": uc.name,
                "key": uc.key,
                "url": data.use_case_url(uc),
                "months": e["months"],
                "outcomes": e["outcomes"],
                "model_cost": e["amount"],
                "other_costs": e["other_costs"],
                "ai_cost_per_outcome": e["cost_per_outcome"],
                "cost_per_outcome": e["all_in_cost_per_outcome"],
                "value_per_outcome": e["value_per_outcome"],
                "value": e["value"],
                "viable": e["viable"],
                "currency": currency,
                "as_billed": _amounts(e["spend"]),
                "not_converted": _amounts(not_converted),
            }
        )
    rows.sort(key=lambda r: -(r["model_cost"] + r["other_costs"]))
    reported = {e["use_case"].pk for e in ue.rows}
    with_spend = {uc_id for (uc_id, c), (now, _) in data.spend_by_use_case.items() if uc_id and now}
    silent = sorted(data.use_cases[uc_id].name for uc_id in with_spend - reported if uc_id in data.use_cases)
    months = data.economics_months
    span = f"{months[0]:%b %Y}" if len(months) == 1 else f"{months[0]:%b %Y} to {months[-1]:%b %Y}"
    ds = Dataset(
        "unit_economics",
        "Unit economics: cost per outcome against value per outcome",
        [
            ("use_case", "use case"),
            ("key", "key"),
            ("months", "months reported"),
            ("outcomes", "outcomes"),
            ("model_cost", "AI spend"),
            ("other_costs", "other recorded costs"),
            ("ai_cost_per_outcome", "AI spend per outcome"),
            ("cost_per_outcome", "cost per outcome"),
            ("value_per_outcome", "value per outcome"),
            ("value", "value delivered"),
            ("viable", "cost below value"),
            ("currency", "currency"),
            ("as_billed", "AI spend as billed"),
            ("not_converted", "left out: no exchange rate"),
        ],
        rows,
        currency=currency,
        headline={"span": span, "silent": silent},
    )
    ds.notes.append(
        f"Months with a value signal, {span}; cost is AI spend plus the other costs recorded. "
        "AI spend per outcome is the showback page's cost per outcome."
    )
    ds.notes.extend(_rates_notes(ue.conversion))
    return ds


# Sprawl: spend nobody owns.


def backlog_figure(data: DashboardData) -> Dataset:
    qs = OptimizationItem.objects.filter(
        permissions.use_case_scope(data.user, prefix="use_case__"),
        data.filters.use_case_q(prefix="use_case__"),
    )
    grouped = (
        qs.order_by()
        .values("lever", "currency")
        .annotate(
            items=Count("id"),
            open=Count(
                "id", filter=Q(status__in=(OptimizationStatus.PROPOSED, OptimizationStatus.IN_PROGRESS))
            ),
            done=Count("id", filter=Q(status=OptimizationStatus.DONE)),
            expected=Sum("expected_monthly_savings", filter=~Q(status=OptimizationStatus.REJECTED)),
            expected_done=Sum("expected_monthly_savings", filter=Q(status=OptimizationStatus.DONE)),
            realised=Sum("realised_monthly_savings", filter=Q(status=OptimizationStatus.DONE)),
        )
    )
    labels = dict(OptimizationLever.choices)
    rows = [
        {
            "lever": labels.get(r["lever"], r["lever"]),
            "items": r["items"],
            "open": r["open"],
            "done": r["done"],
            "expected": r["expected"] or ZERO,
            "expected_done": r["expected_done"] or ZERO,
            "realised": r["realised"] or ZERO,
            "currency": r["currency"],
        }
        for r in grouped
    ]
    rows.sort(key=lambda r: -r["expected"])
    currency = main_currency({r["currency"]: r["expected"] for r in rows}) if rows else data.currency
    mine = [r for r in rows if r["currency"] == currency]
    expected_done = sum((r["expected_done"] for r in mine), ZERO)
    realised = sum((r["realised"] for r in mine), ZERO)
    return Dataset(
        "backlog",
        "Optimization backlog: expected against realised savings",
        [
            ("lever", "lever"),
            ("items", "items"),
            ("open", "open"),
            ("done", "done"),
            ("expected", "expected monthly savings (not rejected)"),
            ("expected_done", "expected, of the done items"),
            ("realised", "realised monthly savings"),
            ("currency", "currency"),
        ],
        rows,
        currency=currency,
        headline={
            "expected": sum((r["expected"] for r in mine), ZERO),
            "realised": realised,
            "realisation": _share(realised, expected_done),
            "open": sum(r["open"] for r in mine),
        },
    )


# What is waiting for a decision.


def decisions_figure(data: DashboardData) -> Dataset:
    items = waiting.waiting_items(user=data.user, filters=data.filters, now=data.now)
    rows = [
        {
            "kind": i.kind,
            "subject": i.subject,
            "url": i.url,
            "decided_by": i.decided_by,
            "since": i.since.date(),
            "days": i.days,
            "amount": i.amount,
            "currency": i.currency,
        }
        for i in items
    ]
    return Dataset(
        "decisions",
        "Decisions waiting",
        [
            ("kind", "what"),
            ("subject", "subject"),
            ("decided_by", "who decides"),
            ("since", "waiting since"),
            ("days", "days waiting"),
            ("amount", "amount"),
            ("currency", "currency"),
        ],
        rows,
        currency=data.currency,
        notes=waiting.sources_note(),
    )


# Build versus buy.


def build_vs_buy_figure(data: DashboardData) -> Dataset:
    threshold = settings.AIFINOPS_BUILD_VS_BUY_ANNUAL
    currency = settings.AIFINOPS_BUILD_VS_BUY_CURRENCY
    ds = Dataset(
        "build_vs_buy",
        "Build-versus-buy reviews",
        [
            ("use_case", "use case"),
            ("key", "key"),
            ("team", "team"),
            ("last_30_days", "AI spend, last 30 days"),
            ("annualised", "annualised"),
            ("threshold", "review threshold"),
            ("of_threshold", "share of threshold"),
            ("currency", "currency"),
        ],
        build_vs_buy_rows(data.run_rate_rows, data.use_cases),
        currency=currency,
        headline={"threshold": threshold, "approach_pct": settings.AIFINOPS_BUILD_VS_BUY_APPROACH_PCT},
    )
    since = data.as_of - datetime.timedelta(days=29)
    ds.notes.append(
        f"Annualised: AI spend from {since:%-d %b} to {data.as_of:%-d %b %Y}, times 365/30, in {currency}; "
        f"flagged from {settings.AIFINOPS_BUILD_VS_BUY_APPROACH_PCT:.0f} % of the threshold."
    )
    return ds
