"""Reads of budgets: the period a budget is in, how much of it is used, and what is capped.

A budget's figures come from the DailySpend rollup: AI spend (is_ai) in any currency, spend in
another currency than the budget's converted into it day by day at the rate in force that day
(showback.fx; a day without a rate is named in `missing_rates`, never counted at 1), from the
first day of its period to the latest day with imported spend, matched on the budget's
scope (team, use case, provider or model; a business function through the use case's function;
everything for the portfolio; an agent is its use case). Figures of many budgets are computed
together: one query per distinct period, however many budgets there are.

The projection is linear: the burn rate (spend to date ÷ days elapsed up to the latest day with
spend data) times the days in the period. It is simple on purpose, and said so on the pages.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.shortcuts import get_object_or_404

from aifinops.core import periods, permissions

from .. import fx
from ..models import (
    Budget,
    BudgetAlert,
    BudgetAlertStatus,
    BudgetIncreaseRequest,
    BudgetMode,
    BudgetPeriod,
    BudgetScope,
    CustomerDailySpend,
    DailySpend,
    IncreaseRequestStatus,
    SpendRecord,
    TeamWebhook,
    WebhookDelivery,
)
from ..selectors import spend_data_through

CENT = Decimal("0.01")
USE_CASE_CAP_SCOPES = (BudgetScope.USE_CASE, BudgetScope.AGENT)
# Team, business-function and portfolio caps count every call of every use case they hold.
GROUP_CAP_SCOPES = (BudgetScope.TEAM, BudgetScope.FUNCTION, BudgetScope.PORTFOLIO)
# Customer and tag caps stop the calls that name that customer or carry that tag, in any use case.
CALL_CAP_SCOPES = (BudgetScope.CUSTOMER, BudgetScope.TAG)
# Provider and model caps stop the calls to that provider's models or to that catalog model, in any
# use case.
CATALOG_CAP_SCOPES = (BudgetScope.PROVIDER, BudgetScope.MODEL)
CAPPING_SCOPES = USE_CASE_CAP_SCOPES + GROUP_CAP_SCOPES + CALL_CAP_SCOPES + CATALOG_CAP_SCOPES
# Fewer elapsed days than this make a linear projection more noise than signal.
MIN_DAYS_FOR_PROJECTION = 3


def period_bounds(period: str, day: datetime.date) -> tuple[datetime.date, datetime.date]:
    """(first day, last day) of the monthly, quarterly or annual period that contains `day`."""
    if period == BudgetPeriod.ANNUAL:
        return datetime.date(day.year, 1, 1), datetime.date(day.year, 12, 31)
    if period == BudgetPeriod.QUARTERLY:
        first = datetime.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        return first, periods.month_end(periods.add_months(first, 2))
    return periods.month_start(day), periods.month_end(day)


@dataclass
class BudgetStatus:
    """Where a budget stands in its current period."""

    period_start: datetime.date
    period_end: datetime.date
    as_of: datetime.date  # the last day the figures include
    days_elapsed: int
    days_in_period: int
    amount: Decimal
    currency: str
    actual: Decimal
    burn_rate: Decimal  # per day
    projected: Decimal
    capped: bool
    # Spend in other currencies with no rate into the budget's on some days: left out of `actual`,
    # named by currency, days and amount as billed (fx.MissingRate).
    missing: tuple = ()

    @property
    def complete(self) -> bool:
        """False when some spend had no rate: `actual` then leaves it out, never counts it at 1."""
        return not self.missing

    @property
    def missing_rates(self) -> tuple:
        """("USD Nov 2026", …): the currencies and months without a rate, for a short line."""
        return tuple(f"{m.currency} {month}" for m in self.missing for month in m.months)

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.actual

    @property
    def used_pct(self) -> Decimal:
        return (self.actual / self.amount * 100).quantize(Decimal("0.1")) if self.amount else Decimal("0")

    @property
    def projected_pct(self) -> Decimal:
        return (self.projected / self.amount * 100).quantize(Decimal("0.1")) if self.amount else Decimal("0")

    @property
    def over(self) -> bool:
        return self.actual >= self.amount

    @property
    def projection_reliable(self) -> bool:
        return self.days_elapsed >= MIN_DAYS_FOR_PROJECTION

    @property
    def projected_over(self) -> bool:
        return self.projection_reliable and self.projected > self.amount

    @property
    def state(self) -> str:
        """capped, over, at_risk or on_track: what a badge says."""
        if self.capped:
            return "capped"
        if self.over:
            return "over"
        if self.projected_over:
            return "at_risk"
        return "on_track"


def _money(value) -> Decimal:
    return Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)


# What a row of spend counts towards: the target of each scope (a function through the use case's).
_ROW_TARGETS = (
    (BudgetScope.FUNCTION, "use_case__business_function"),
    (BudgetScope.TEAM, "team_id"),
    (BudgetScope.USE_CASE, "use_case_id"),
    (BudgetScope.PROVIDER, "provider_id"),
    (BudgetScope.MODEL, "model_id"),
)


def _target_key(budget):
    scope = BudgetScope.USE_CASE if budget.scope in USE_CASE_CAP_SCOPES else budget.scope
    value = {
        BudgetScope.PORTFOLIO: None,
        BudgetScope.FUNCTION: budget.function,
        BudgetScope.TEAM: budget.team_id,
        BudgetScope.USE_CASE: budget.use_case_id,
        BudgetScope.PROVIDER: budget.provider_id,
        BudgetScope.MODEL: budget.model_id,
    }.get(scope)
    return scope, value


def _totals_by_target(rows):
    """{(scope, target, currency): spend}: each row added once per scope, so that many budgets
    look their figure up instead of each scanning every row (budgets x rows grew to most of the
    dashboard's time with a few hundred use cases)."""
    totals = defaultdict(Decimal)
    for r in rows:
        total, currency = r["total"] or Decimal("0"), r["currency"]
        totals[BudgetScope.PORTFOLIO, None, currency] += total
        for scope, field in _ROW_TARGETS:
            if r[field] is not None:
                totals[scope, r[field], currency] += total
    return totals


def budget_statuses(budgets, *, today=None) -> dict[int, BudgetStatus]:
    """{budget id: BudgetStatus} for the current period of each budget.

    One query for the latest spend day, then one per distinct period: spend grouped by every
    dimension a budget can match, summed per budget in Python.
    """
    budgets = list(budgets)
    if not budgets:
        return {}
    today = today or periods.today()
    data_through = spend_data_through(today=today)
    by_window = defaultdict(list)
    for budget in budgets:
        by_window[period_bounds(budget.period, today)].append(budget)
    statuses = {}
    for (start, end), members in by_window.items():
        as_of = min(today, end)
        if data_through is not None and start <= data_through < as_of:
            as_of = data_through
        by_call = [b for b in members if b.scope in CALL_CAP_SCOPES]
        members = [b for b in members if b.scope not in CALL_CAP_SCOPES]
        call_totals, call_missing = _customer_and_tag_totals(by_call, start=start, end=as_of)
        for budget in by_call:
            statuses[budget.pk] = _status(
                budget,
                call_totals.get(budget.pk, Decimal("0")),
                start=start,
                end=end,
                as_of=as_of,
                missing=call_missing.get(budget.pk, ()),
            )
        if not members:
            continue
        scoped = Q()
        if all(b.scope not in (BudgetScope.PORTFOLIO, BudgetScope.FUNCTION) for b in members):
            # Only the dimensions these budgets name: a smaller grouping to read.
            scoped = (
                Q(team_id__in={b.team_id for b in members if b.team_id})
                | Q(use_case_id__in={b.use_case_id for b in members if b.use_case_id})
                | Q(provider_id__in={b.provider_id for b in members if b.provider_id})
                | Q(model_id__in={b.model_id for b in members if b.model_id})
            )
        rows = list(
            DailySpend.objects.filter(scoped, is_ai=True, date__gte=start, date__lte=as_of)
            .order_by()
            .values(
                "team_id", "use_case_id", "provider_id", "model_id", "use_case__business_function", "currency"
            )
            .annotate(total=Sum("effective_cost"))
        )
        totals = _totals_by_target(rows)
        converted, missing = _converted_totals(scoped, members, rows, start=start, as_of=as_of)
        for budget in members:
            key = _target_key(budget)
            actual = totals.get((*key, budget.currency), Decimal("0")) + converted.get(
                (*key, budget.currency), Decimal("0")
            )
            statuses[budget.pk] = _status(
                budget,
                actual,
                start=start,
                end=end,
                as_of=as_of,
                missing=fx.missing_rates(missing.get((*key, budget.currency), {}), into=budget.currency),
            )
    return statuses


def _converted_totals(scoped, members, rows, *, start, as_of):
    """({(scope, target, budget currency): spend in other currencies converted into it}, {same key:
    {currency: [(day, amount)] without a rate}}). Read only when the window holds spend in a
    currency some budget is not in: then one query for that spend per day and, per budget
    currency, one for the rates."""
    budget_currencies = {b.currency for b in members}
    foreign = {r["currency"] for r in rows if budget_currencies - {r["currency"]}}
    converted, missing = defaultdict(Decimal), defaultdict(lambda: defaultdict(list))
    if not foreign:
        return converted, missing
    day_rows = list(
        DailySpend.objects.filter(scoped, is_ai=True, currency__in=foreign, date__gte=start, date__lte=as_of)
        .order_by()
        .values(
            "team_id",
            "use_case_id",
            "provider_id",
            "model_id",
            "use_case__business_function",
            "currency",
            "date",
        )
        .annotate(total=Sum("effective_cost"))
    )
    for into in budget_currencies:
        groups = [{**r, "day": r["date"], "amount": r["total"]} for r in day_rows if r["currency"] != into]
        if not groups:
            continue
        results, _ = fx.convert_groups(groups, into=into)
        for g, value, _rate in results:
            targets = [(BudgetScope.PORTFOLIO, None)] + [
                (scope, g[field]) for scope, field in _ROW_TARGETS if g[field] is not None
            ]
            for scope, target in targets:
                if value is None:
                    gap = (g["day"], g["amount"] or Decimal("0"))
                    missing[scope, target, into][g["currency"]].append(gap)
                else:
                    converted[scope, target, into] += value
    return converted, missing


def _status(budget, actual, *, start, end, as_of, missing=()) -> BudgetStatus:
    days_elapsed = (as_of - start).days + 1
    days_in_period = (end - start).days + 1
    burn = actual / days_elapsed if days_elapsed > 0 else Decimal("0")
    return BudgetStatus(
        period_start=start,
        period_end=end,
        as_of=as_of,
        days_elapsed=days_elapsed,
        days_in_period=days_in_period,
        amount=budget.amount,
        currency=budget.currency,
        actual=_money(actual),
        burn_rate=_money(burn),
        projected=_money(max(actual, burn * days_in_period)),
        capped=(
            budget.active
            and budget.mode == BudgetMode.HARD_CAP
            and budget.scope in CAPPING_SCOPES
            and actual >= budget.amount
        ),
        missing=tuple(missing),
    )


def _tag_q(budget) -> Q:
    return Q(tags__contains={budget.tag_key: budget.tag_value})


def _customer_and_tag_totals(budgets, *, start, end) -> tuple[dict[int, Decimal], dict[int, tuple]]:
    """({budget id: AI spend}, {budget id: missing rates}) of customer and tag budgets over
    start..end: one query each kind, per currency and day, converted into each budget's currency.

    A customer's spend is the CustomerDailySpend rollup (records naming the customer, gateway
    calls included). A tag's is read from the spend records that carry it (the rollups keep no
    tags): one aggregate per currency and day with a filtered sum per tag budget, over the
    period's records only.
    """
    totals, missing, tables = {}, {}, {}

    def convert(budget, groups):
        # One rate query per budget currency, however many budgets share it.
        if budget.currency not in tables:
            tables[budget.currency] = fx.RateTable(None, budget.currency, end)
        _results, whole = fx.convert_groups(groups, into=budget.currency, table=tables[budget.currency])
        totals[budget.pk] = whole.amount
        missing[budget.pk] = tuple(whole.missing)

    customers = [b for b in budgets if b.scope == BudgetScope.CUSTOMER]
    if customers:
        rows = list(
            CustomerDailySpend.objects.filter(
                customer__in={b.customer for b in customers}, date__gte=start, date__lte=end
            )
            .order_by()
            .values("customer", "currency", "date")
            .annotate(total=Sum("effective_cost"))
        )
        for budget in customers:
            convert(
                budget,
                [
                    {"currency": r["currency"], "day": r["date"], "amount": r["total"]}
                    for r in rows
                    if r["customer"] == budget.customer
                ],
            )
    tagged = [b for b in budgets if b.scope == BudgetScope.TAG]
    if tagged:
        since = datetime.datetime.combine(start, datetime.time.min, tzinfo=datetime.UTC)
        until = datetime.datetime.combine(
            end + datetime.timedelta(days=1), datetime.time.min, tzinfo=datetime.UTC
        )
        any_tag = Q()
        for budget in tagged:
            any_tag |= _tag_q(budget)
        rows = list(
            SpendRecord.objects.filter(
                any_tag, is_ai=True, charge_period_start__gte=since, charge_period_start__lt=until
            )
            .annotate(day=TruncDate("charge_period_start", tzinfo=datetime.UTC))
            .order_by()
            .values("day", "currency")
            .annotate(**{f"b{b.pk}": Sum("effective_cost", filter=_tag_q(b)) for b in tagged})
        )
        for budget in tagged:
            convert(
                budget,
                [
                    {"currency": r["currency"], "day": r["day"], "amount": r[f"b{budget.pk}"]}
                    for r in rows
                    if r[f"b{budget.pk}"] is not None
                ],
            )
    return totals, missing


def budget_status(budget, *, today=None) -> BudgetStatus:
    return budget_statuses([budget], today=today)[budget.pk]


# Lists and objects, to the user's scope.


def budget_queryset(*, user):
    return (
        Budget.objects.filter(permissions.budget_scope(user))
        .select_related("team", "use_case__team", "provider", "model__provider", "owner")
        .annotate(open_alerts=Count("alerts", filter=Q(alerts__status=BudgetAlertStatus.OPEN), distinct=True))
    )


def budget_list(*, user, filterset_class=None, filters=None, today=None):
    """[(budget, status)] the user may see, with the open alert count on each budget."""
    qs = budget_queryset(user=user).order_by("-active", "name", "id")
    if filterset_class is not None:
        qs = filterset_class(filters or {}, queryset=qs).qs
    budgets = list(qs)
    statuses = budget_statuses([b for b in budgets if b.active], today=today)
    return [(b, statuses.get(b.pk)) for b in budgets]


def budget_get(*, user, pk):
    budget = get_object_or_404(
        Budget.objects.select_related("team", "use_case__team", "provider", "model__provider", "owner"), pk=pk
    )
    if not permissions.can_view_budget(user, budget):
        # Another team's budget: as if it did not exist.
        from django.http import Http404

        raise Http404
    return budget


def alert_queryset(*, user):
    visible = Budget.objects.filter(permissions.budget_scope(user)).values("pk")
    return BudgetAlert.objects.filter(budget__in=visible).select_related(
        "budget", "acknowledged_by", "resolved_by"
    )


def open_alert_list(*, user, limit=20):
    """The newest open alerts of the budgets the user may see (all of them with `limit=None`)."""
    return list(
        alert_queryset(user=user).filter(status=BudgetAlertStatus.OPEN).order_by("-created_at")[:limit]
    )


def open_alert_count(*, user):
    return alert_queryset(user=user).filter(status=BudgetAlertStatus.OPEN).count()


def budget_alerts(*, budget, limit=50):
    return list(
        BudgetAlert.objects.filter(budget=budget)
        .select_related("acknowledged_by", "resolved_by")
        .order_by("-period_start", "-created_at")[:limit]
    )


def increase_request_queryset(*, user):
    visible = Budget.objects.filter(permissions.budget_scope(user)).values("pk")
    return BudgetIncreaseRequest.objects.filter(budget__in=visible).select_related(
        "budget__owner", "decided_by", "requested_by"
    )


def open_increase_requests(*, user, limit=20):
    """The newest increase requests waiting for a decision (all of them with `limit=None`)."""
    return list(
        increase_request_queryset(user=user)
        .filter(status=IncreaseRequestStatus.OPEN)
        .order_by("-created_at")[:limit]
    )


def open_increase_request_count(*, user):
    return increase_request_queryset(user=user).filter(status=IncreaseRequestStatus.OPEN).count()


def budget_increase_requests(*, budget, limit=20):
    return list(
        BudgetIncreaseRequest.objects.filter(budget=budget)
        .select_related("decided_by", "requested_by")
        .order_by("-created_at")[:limit]
    )


def budgets_needing_council():
    """Open increase requests above the council's amount, for the council's agenda."""
    return list(
        BudgetIncreaseRequest.objects.filter(status=IncreaseRequestStatus.OPEN, needs_council=True)
        .select_related("budget__use_case", "budget__team", "budget__owner")
        .order_by("created_at")
    )


def budget_daily_spend(*, budget, start, end):
    """[(date, spend)] of one budget's scope, day by day, for its chart."""
    if budget.scope == BudgetScope.CUSTOMER:
        rows = (
            CustomerDailySpend.objects.filter(customer=budget.customer, date__gte=start, date__lte=end)
            .order_by()
            .values("date", "currency")
            .annotate(total=Sum("effective_cost"))
        )
        return _by_day_in(budget.currency, rows)
    if budget.scope == BudgetScope.TAG:
        since = datetime.datetime.combine(start, datetime.time.min, tzinfo=datetime.UTC)
        until = datetime.datetime.combine(
            end + datetime.timedelta(days=1), datetime.time.min, tzinfo=datetime.UTC
        )
        rows = (
            SpendRecord.objects.filter(
                _tag_q(budget),
                is_ai=True,
                charge_period_start__gte=since,
                charge_period_start__lt=until,
            )
            .annotate(date=TruncDate("charge_period_start", tzinfo=datetime.UTC))
            .order_by()
            .values("date", "currency")
            .annotate(total=Sum("effective_cost"))
        )
        return _by_day_in(budget.currency, rows)
    # Every currency, each day's spend converted into the budget's; a day without a rate counts
    # only what it has a rate for (the budget's status names the missing rates).
    qs = DailySpend.objects.filter(is_ai=True, date__gte=start, date__lte=end).filter(_scope_q(budget))
    return _by_day_in(
        budget.currency, qs.order_by().values("date", "currency").annotate(total=Sum("effective_cost"))
    )


def _by_day_in(currency, rows):
    """[(date, spend in `currency`)] of rows {date, currency, total}, each day at its rate."""
    groups = [{"currency": r["currency"], "day": r["date"], "amount": r["total"]} for r in rows]
    results, _ = fx.convert_groups(groups, into=currency)
    by_day = defaultdict(Decimal)
    for g, value, _rate in results:
        by_day[g["day"]] += value or Decimal("0")
    return sorted(by_day.items())


def _scope_q(budget) -> Q:
    return {
        BudgetScope.PORTFOLIO: Q(),
        BudgetScope.FUNCTION: Q(use_case__business_function=budget.function),
        BudgetScope.TEAM: Q(team_id=budget.team_id),
        BudgetScope.USE_CASE: Q(use_case_id=budget.use_case_id),
        BudgetScope.AGENT: Q(use_case_id=budget.use_case_id),
        BudgetScope.PROVIDER: Q(provider_id=budget.provider_id),
        BudgetScope.MODEL: Q(model_id=budget.model_id),
    }[budget.scope]


# Hard caps: what the pages show and the real-time authorization endpoint refuses.


def _hard_caps(use_case_ids=None):
    qs = Budget.objects.filter(active=True, mode=BudgetMode.HARD_CAP, scope__in=USE_CASE_CAP_SCOPES)
    if use_case_ids is not None:
        qs = qs.filter(use_case_id__in=use_case_ids)
    return list(qs)


def _stopped_by_group_caps(used_up) -> set[int]:
    """Ids of the use cases that used-up team, business-function and portfolio caps hold: one
    query for all of them, none when there are none."""
    groups = [b for b in used_up if b.scope in GROUP_CAP_SCOPES]
    if not groups:
        return set()
    from portfolio.models import UseCase

    if any(b.scope == BudgetScope.PORTFOLIO for b in groups):
        held = Q()
    else:
        held = Q(team_id__in={b.team_id for b in groups if b.scope == BudgetScope.TEAM}) | Q(
            business_function__in={b.function for b in groups if b.scope == BudgetScope.FUNCTION}
        )
    return set(UseCase.objects.filter(held).values_list("pk", flat=True))


def capped_use_case_ids(*, today=None) -> set[int]:
    """Ids of the use cases (agents included) that a used-up hard cap stops this period: their own
    use-case or agent cap, or the team, business-function or portfolio cap that holds them (such a
    cap stops every call of every use case it holds).

    Customer, tag, provider and model caps are left out on purpose: they stop only the calls that
    name that customer, carry that tag or go to that model or provider's models, never a whole use
    case, which other calls still pass.

    A constant number of queries however many use cases and budgets: one for all the use-case,
    agent and group caps, those of budget_statuses, and one for the use cases the used-up group
    caps hold.
    """
    budgets = list(
        Budget.objects.filter(
            active=True, mode=BudgetMode.HARD_CAP, scope__in=USE_CASE_CAP_SCOPES + GROUP_CAP_SCOPES
        )
    )
    statuses = budget_statuses(budgets, today=today)
    used_up = [b for b in budgets if statuses[b.pk].capped]
    ids = {b.use_case_id for b in used_up if b.scope in USE_CASE_CAP_SCOPES}
    return ids | _stopped_by_group_caps(used_up)


def use_case_group_cap(use_case, *, today=None) -> Budget | None:
    """The used-up team, business-function or portfolio hard cap that stops every call of this use
    case now, or None (customer, tag, provider and model caps stop only some calls: never
    returned). One query when no group cap holds the use case, a constant few when some do."""
    budgets = list(
        Budget.objects.filter(
            Q(scope=BudgetScope.TEAM, team_id=use_case.team_id)
            | Q(scope=BudgetScope.FUNCTION, function=use_case.business_function)
            | Q(scope=BudgetScope.PORTFOLIO),
            active=True,
            mode=BudgetMode.HARD_CAP,
        ).order_by("pk")
    )
    statuses = budget_statuses(budgets, today=today)
    return next((b for b in budgets if statuses[b.pk].capped), None)


@dataclass
class CapStatus:
    capped: bool
    budget: Budget
    status: BudgetStatus


def use_case_cap_status(use_case, *, today=None) -> CapStatus | None:
    """The hard cap of a use case or agent: None if it has none; else whether it is capped now,
    by which budget, with its figures. With several hard caps, a used-up one wins."""
    budgets = _hard_caps([use_case.pk])
    if not budgets:
        return None
    statuses = budget_statuses(budgets, today=today)
    found = [CapStatus(statuses[b.pk].capped, b, statuses[b.pk]) for b in budgets]
    found.sort(key=lambda c: (not c.capped, -c.status.used_pct))
    return found[0]


def use_case_budgets(*, use_case, today=None):
    """[(budget, status)] of a use case's active budgets (use case and agent scope), for its page."""
    budgets = list(
        Budget.objects.filter(active=True, use_case=use_case)
        .select_related("owner", "use_case")
        .order_by("name", "id")
    )
    statuses = budget_statuses(budgets, today=today)
    return [(b, statuses[b.pk]) for b in budgets]


def team_budgets(*, team, today=None):
    """[(budget, status)] of the active budgets a team runs: its own and its use cases'."""
    budgets = list(
        Budget.objects.filter(Q(team=team) | Q(use_case__team=team), active=True)
        .select_related("use_case", "team", "owner")
        .order_by("name", "id")
    )
    statuses = budget_statuses(budgets, today=today)
    return [(b, statuses[b.pk]) for b in budgets]


# Webhooks.


def team_webhook_list():
    return list(TeamWebhook.objects.select_related("team").order_by("team__name", "id"))


def webhook_delivery_list(*, limit=100):
    return list(
        WebhookDelivery.objects.select_related("webhook__team").order_by("-created_at", "-id")[:limit]
    )
