"""Reads of planning: forecasts with their backtest and assumptions, and commitment suggestions,
scoped to what the user may see.

Forecasts read monthly sums of the DailySpend rollup in the reporting currency: each currency's
spend counted at each day's rate by showback.fx, the rates named, and spend on days without a rate
left out and named on the page, never counted at 1.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Sum
from django.db.models.functions import TruncMonth

from aifinops.core import periods, permissions
from portfolio.models import PriceBookEntry, UseCase
from portfolio.pricing import price_pick

from ... import fx
from ...models import AssumptionKind, Commitment, CommitmentSource, DailySpend, ForecastAssumption
from .. import assumptions, commitments, forecasting

HISTORY_MONTHS = 36
MIX_MONTHS = 3
ZERO = Decimal("0")


def _month(value):
    return value.date() if isinstance(value, datetime.datetime) else value


def _dense(by_month, first, last):
    out, month = [], first
    while month <= last:
        out.append((month, by_month.get(month, ZERO)))
        month = periods.add_months(month, 1)
    return out


@dataclass
class History:
    months: list  # [(month, Decimal)] of complete months, oldest first, in `currency`, to fit
    actual_months: list  # the same as spent: the first month may have begun part-way
    scaled_first_month: bool  # ... and is then scaled up to a whole month in `months`
    currency: str
    other_currencies: list  # the currencies of spend left out for want of a rate
    month_to_date: Decimal
    first_forecast_month: datetime.date
    reporting: fx.Converted | None = None  # the whole history converted: rates used, missing


def _converted_by_month(groups, *, into):
    """({month: amount in `into`}, {month: first day with converted spend}, Converted) of groups
    [{currency, day, amount, ...}]: each day at its rate by showback.fx; days without one are left
    out and named in the Converted."""
    converted, whole = fx.convert_groups(groups, into=into)
    by_month, first_days = defaultdict(lambda: ZERO), {}
    for g, value, _rate in converted:
        if value is None:
            continue
        month = periods.month_start(g["day"])
        by_month[month] += value
        first_days[month] = min(first_days.get(month, g["day"]), g["day"])
    return {m: v.quantize(fx.MICRO) for m, v in by_month.items()}, first_days, whole


def _history(qs, *, as_of, months=HISTORY_MONTHS, currency=None):
    """The monthly history in `currency` (the reporting currency by default): every currency's
    spend counted at each day's rate, summed per (currency, day) in the database."""
    this_month = periods.month_start(as_of)
    start = periods.add_months(this_month, -months)
    currency = currency or fx.reporting_currency()
    groups = [
        {"currency": r["currency"], "day": r["date"], "amount": r["total"]}
        for r in qs.filter(is_ai=True, date__gte=start, date__lte=as_of)
        .order_by()
        .values("currency", "date")
        .annotate(total=Sum("effective_cost"))
    ]
    by_month, first_days, whole = _converted_by_month(groups, into=currency)
    last = periods.add_months(this_month, -1)
    months = forecasting.trim_leading_zeros(_dense(by_month, start, last))
    first_day = first_days.get(months[0][0]) if months else None
    return History(
        months=forecasting.whole_first_month(months, first_day),
        actual_months=months,
        scaled_first_month=bool(months) and first_day is not None and first_day.day != 1,
        currency=currency,
        other_currencies=sorted({m.currency for m in whole.missing}),
        month_to_date=by_month.get(this_month, ZERO),
        first_forecast_month=this_month,
        reporting=whole,
    )


@dataclass
class PlannedAssumption:
    assumption: ForecastAssumption
    adjustment: assumptions.Adjustment | None
    effect: str


@dataclass
class ForecastView:
    use_case: UseCase | None
    history: History
    base: forecasting.Forecast
    forecast: forecasting.Forecast
    backtest: forecasting.Backtest | None  # None when the caller asked for the figures alone
    assumptions: list = field(default_factory=list)  # [PlannedAssumption]
    use_case_assumptions: list = field(default_factory=list)  # portfolio: the use cases' own
    committed: list = field(default_factory=list)  # portfolio: [(month, amount)] of commitments added


def _mix_rows(*, as_of, use_case_ids=None, user=None):
    """Recent spend and tokens per use case and model, with catalog prices, for model switches."""
    start = periods.add_months(periods.month_start(as_of), -MIX_MONTHS)
    qs = DailySpend.objects.filter(is_ai=True, date__gte=start, date__lte=as_of)
    if use_case_ids is not None:
        qs = qs.filter(use_case_id__in=use_case_ids)
    else:
        qs = qs.filter(permissions.spend_scope(user))
    rows = list(
        qs.order_by()
        .values(
            "use_case_id",
            "model_id",
            "currency",
            "model__input_price_per_mtok",
            "model__output_price_per_mtok",
            "model__currency",
        )
        .annotate(
            cost=Sum("effective_cost"),
            tokens_in=Sum("input_tokens"),
            tokens_cached=Sum("cached_tokens"),
            tokens_out=Sum("output_tokens"),
        )
    )
    # The models' prices in force on as_of (a negotiated one where the company has it), from the
    # price book; the catalog's list price where the book has none.
    prices = defaultdict(list)
    for price in PriceBookEntry.objects.filter(model_id__in={r["model_id"] for r in rows if r["model_id"]}):
        prices[price.model_id].append(price)
    for r in rows:
        price = price_pick(prices.get(r["model_id"], []), on_date=as_of)
        if price is not None:
            r["model__input_price_per_mtok"] = price.input_price_per_mtok
            r["model__output_price_per_mtok"] = price.output_price_per_mtok
            r["model__currency"] = price.currency
    return rows


def _pct(value):
    return f"{value.normalize():f}".rstrip(".") if value is not None else ""


def _plan(assumption, *, use_case, currency, mix):
    """(Adjustment or None, what it does in words) for one assumption, in the forecast's currency."""
    a = assumption
    when = f"{a.effective_from:%d %b %Y}"
    if a.kind == AssumptionKind.ADOPTION_GROWTH:
        adj = assumptions.Adjustment(a.kind, a.effective_from, growth_pct=a.growth_pct)
        return adj, f"From {when}, spend grows {_pct(a.growth_pct)} % a month, compounding."
    if a.kind == AssumptionKind.LAUNCH_DATE:
        target = use_case or a.use_case
        if a.growth_pct is not None:
            adj = assumptions.Adjustment(a.kind, a.effective_from, step_pct=a.growth_pct)
            return adj, f"{target.name} launches on {when}: spend steps up {_pct(a.growth_pct)} %."
        if target.currency != currency:
            return None, (
                f"{target.name} launches on {when}, but its expected cost is in {target.currency}, "
                f"not {currency}: no effect."
            )
        adj = assumptions.Adjustment(a.kind, a.effective_from, level=target.expected_monthly_cost)
        return adj, (
            f"{target.name} launches on {when}: spend rises to its expected "
            f"{target.expected_monthly_cost:,.0f} {currency} a month."
        )
    # A model switch: the share of recent spend on the replaced model(s), and the price ratio.
    rows = [
        r for r in mix if r["currency"] == currency and (use_case is None or r["use_case_id"] == use_case.pk)
    ]
    total = sum((r["cost"] or ZERO for r in rows), ZERO)
    moving = [
        r
        for r in rows
        if r["model_id"] is not None
        and r["model_id"] != a.target_model_id
        and (a.from_model_id is None or r["model_id"] == a.from_model_id)
        and r["model__currency"] == a.target_model.currency
    ]
    moved = sum((r["cost"] or ZERO for r in moving), ZERO)
    replaced = a.from_model.name if a.from_model_id else "its current models"
    if not total or not moved:
        return (
            None,
            f"Switch from {replaced} to {a.target_model.name} on {when}: no recent spend on it, no effect.",
        )
    ratio = assumptions.switch_price_ratio(
        [
            assumptions.ModelMix(
                input_price=r["model__input_price_per_mtok"] or ZERO,
                output_price=r["model__output_price_per_mtok"] or ZERO,
                input_tokens=(r["tokens_in"] or 0) + (r["tokens_cached"] or 0),
                output_tokens=r["tokens_out"] or 0,
                cost=r["cost"] or ZERO,
            )
            for r in moving
        ],
        a.target_model.input_price_per_mtok,
        a.target_model.output_price_per_mtok,
    )
    if ratio is None:
        return (
            None,
            f"Switch from {replaced} to {a.target_model.name}: the catalog has no price for {replaced}.",
        )
    share = moved / total
    adj = assumptions.Adjustment(a.kind, a.effective_from, share=share, price_ratio=ratio)
    return adj, (
        f"From {when}, {share:.0%} of the spend (on {replaced}) moves to {a.target_model.name} "
        f"at {ratio:.2f} times the price, by catalog list prices and the recent token mix."
    )


def _assumptions(qs):
    return list(
        qs.select_related("use_case", "from_model", "target_model", "created_by").order_by(
            "effective_from", "id"
        )
    )


def forecast_get(
    *,
    user,
    use_case=None,
    months=12,
    as_of=None,
    spend_q=None,
    use_case_q=None,
    currency=None,
    with_backtest=True,
):
    """The forecast of a use case (the caller checked the user may see it) or of the portfolio of
    spend the user may see, with its backtest and the planners' assumptions applied.

    This is the one forecast: the forecast page, the API, the dashboard's trend and the executive
    narrative all read it, so a month's figure is the same wherever it is shown. The dashboard
    narrows it to its slice with `spend_q` (a filter of DailySpend) and `use_case_q` (the same
    filter of use cases, for their assumptions): a slice carries its use cases' own assumptions but
    not the portfolio's, which speak for the whole company. `currency` is the currency the history is
    converted into, each day at its rate; by default the reporting currency, as the dashboard's.

    The portfolio forecast applies the portfolio's own assumptions and adds what each use case's
    assumptions change in that use case's forecast. A constant number of queries.
    """
    as_of = as_of or periods.today()
    sliced = spend_q is not None or use_case_q is not None
    if use_case is not None:
        history = _history(DailySpend.objects.filter(use_case=use_case), as_of=as_of, currency=currency)
        own = _assumptions(ForecastAssumption.objects.filter(use_case=use_case))
    else:
        qs = DailySpend.objects.filter(permissions.spend_scope(user))
        if spend_q is not None:
            qs = qs.filter(spend_q)
        history = _history(qs, as_of=as_of, currency=currency)
        own = [] if sliced else _assumptions(ForecastAssumption.objects.filter(use_case__isnull=True))
    base = forecasting.forecast(history.months, months=months, start=history.first_forecast_month)
    test = forecasting.backtest(history.months) if with_backtest else None
    needs_mix = any(a.kind == AssumptionKind.MODEL_SWITCH for a in own)
    mix = (
        _mix_rows(as_of=as_of, use_case_ids=[use_case.pk] if use_case else None, user=user)
        if needs_mix
        else []
    )
    planned = []
    for a in own:
        adj, effect = _plan(a, use_case=use_case, currency=history.currency, mix=mix)
        planned.append(PlannedAssumption(a, adj, effect))
    result = assumptions.adjust(base, [p.adjustment for p in planned if p.adjustment])
    view = ForecastView(use_case, history, base, result, test, planned)
    if use_case is None:
        view.use_case_assumptions = _use_case_deltas(
            view, user=user, months=months, as_of=as_of, use_case_q=use_case_q
        )
        if not sliced:
            _add_commitments(view)
    return view


def _add_commitments(view):
    """Add to each forecast month the cost of the commitments entered by hand that fall in it.

    Their cost is owed whatever the usage, and it is on no imported bill, so the history the
    forecast learns from does not carry it; commitments imported from a provider's FOCUS files
    are billed there (as purchases) and the history carries them already."""
    points = view.forecast.points
    if not points:
        return
    first, last = points[0].month, points[-1].month
    by_month = defaultdict(lambda: ZERO)
    commitments = Commitment.objects.filter(
        source=CommitmentSource.MANUAL,
        currency=view.history.currency,
        term_end__gte=first,
        term_start__lte=periods.month_end(last),
    )
    for commitment in commitments:
        for month, amount in commitment.schedule():
            if first <= month <= last:
                by_month[month] += amount
    if by_month:
        view.committed = [(p.month, by_month.get(p.month, ZERO)) for p in points]
        view.forecast = assumptions.with_delta(view.forecast, [amount for _, amount in view.committed])


def _use_case_deltas(view, *, user, months, as_of, use_case_q=None):
    """Apply each use case's own assumptions to its forecast, and add the change to the portfolio
    (or to the slice `use_case_q` of it)."""
    qs = ForecastAssumption.objects.filter(permissions.assumption_scope(user), use_case__isnull=False)
    if use_case_q is not None:
        qs = qs.filter(use_case_q)
    theirs = _assumptions(qs)
    if not theirs:
        return []
    ids = {a.use_case_id for a in theirs}
    rows = (
        DailySpend.objects.filter(
            use_case_id__in=ids,
            is_ai=True,
            date__gte=periods.add_months(periods.month_start(as_of), -HISTORY_MONTHS),
            date__lt=periods.month_start(as_of),
        )
        .order_by()
        .values("use_case_id", "currency", "date")
        .annotate(total=Sum("effective_cost"))
    )
    groups = [
        {"use_case_id": r["use_case_id"], "currency": r["currency"], "day": r["date"], "amount": r["total"]}
        for r in rows
    ]
    by_use_case = defaultdict(lambda: defaultdict(lambda: ZERO))
    first_days = defaultdict(dict)
    for g, value, _rate in fx.convert_groups(groups, into=view.history.currency)[0]:
        if value is None:
            continue
        month = periods.month_start(g["day"])
        by_use_case[g["use_case_id"]][month] += value
        seen = first_days[g["use_case_id"]].get(month)
        first_days[g["use_case_id"]][month] = g["day"] if seen is None else min(seen, g["day"])
    needs_mix = any(a.kind == AssumptionKind.MODEL_SWITCH for a in theirs)
    mix = _mix_rows(as_of=as_of, use_case_ids=ids) if needs_mix else []
    start = view.history.first_forecast_month
    first = periods.add_months(start, -HISTORY_MONTHS)
    planned_all = []
    total_delta = [ZERO] * months
    for uc_id in sorted(ids):
        mine = [a for a in theirs if a.use_case_id == uc_id]
        use_case = mine[0].use_case
        history = forecasting.trim_leading_zeros(
            _dense(by_use_case.get(uc_id, {}), first, periods.add_months(start, -1))
        )
        history = forecasting.whole_first_month(
            history, first_days[uc_id].get(history[0][0]) if history else None
        )
        base = forecasting.forecast(history, months=months, start=start)
        planned = []
        for a in mine:
            adj, effect = _plan(a, use_case=use_case, currency=view.history.currency, mix=mix)
            planned.append(PlannedAssumption(a, adj, effect))
        adjusted = assumptions.adjust(base, [p.adjustment for p in planned if p.adjustment])
        for i, (before, after) in enumerate(zip(base.points, adjusted.points, strict=True)):
            total_delta[i] += after.value - before.value
        planned_all.extend(planned)
    if any(total_delta):
        view.forecast = assumptions.with_delta(view.forecast, total_delta)
    return planned_all


def forecastable_use_cases(*, user):
    """[(key, name)] of the use cases the user may see, for the forecast page's choice."""
    return list(
        UseCase.objects.filter(permissions.use_case_scope(user)).order_by("name").values_list("key", "name")
    )


# Commitments.


@dataclass
class ProviderPlan:
    provider: str
    currency: str
    history: list
    stability: commitments.Stability
    suggestion: commitments.Suggestion | None


def commitment_plans(*, user, as_of=None):
    """Per provider and currency, the last complete months of AI spend and a commitment to
    suggest where they were steady. One query."""
    as_of = as_of or periods.today()
    this_month = periods.month_start(as_of)
    start = periods.add_months(this_month, -commitments.LOOKBACK_MONTHS)
    rows = (
        DailySpend.objects.filter(
            permissions.spend_scope(user),
            is_ai=True,
            provider__isnull=False,
            date__gte=start,
            date__lt=this_month,
        )
        .annotate(month=TruncMonth("date"))
        .order_by()
        .values("provider__name", "currency", "month")
        .annotate(total=Sum("effective_cost"))
    )
    series = defaultdict(dict)
    for r in rows:
        series[(r["provider__name"], r["currency"])][_month(r["month"])] = r["total"] or ZERO
    last = periods.add_months(this_month, -1)
    plans = []
    for (name, currency), by_month in series.items():
        history = _dense(by_month, start, last)
        plans.append(
            ProviderPlan(
                name,
                currency,
                history,
                commitments.stability(history),
                commitments.suggest_commitment(history),
            )
        )
    plans.sort(key=lambda p: (p.suggestion is None, -(p.stability.mean)))
    return plans
