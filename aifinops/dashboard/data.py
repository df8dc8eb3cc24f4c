"""The few reads of the rollups and the registry that every dashboard figure is derived from.

`DashboardData` runs each read at most once, when a figure first needs it, so the page asks the
database a constant number of times however much spend there is, and a CSV download of one chart
runs only the reads that chart needs. Amounts are summed per currency and never added across
currencies, but through showback.fx: the totals in the reporting currency (`reporting`, the top use
cases, the trend) sum the daily rollup per (currency, day) and count each day at its rate, naming
the spend without one. Aggregates group by ids, not names: the rollup is the big table, and names come from
the small tables in queries of their own.
"""

import datetime
from collections import defaultdict
from decimal import Decimal
from functools import cached_property

from django.db.models import Q, Sum
from django.urls import reverse
from django.utils import timezone

from aifinops.core import periods, permissions
from portfolio.models import Provider, Team, UseCase
from showback import fx
from showback import selectors as spend
from showback.budgets import selectors as budget_selectors
from showback.models import DailySpend, MonthlySpend

from .filters import Filters

ZERO = Decimal("0")
PREMIUM_TIERS = spend.PREMIUM_TIERS
TREND_MONTHS = 12
FORECAST_MONTHS = 6


def as_date(value):
    return value.date() if isinstance(value, datetime.datetime) else value


def main_currency(totals: dict) -> str:
    """The currency with the most spend: charts draw it, and say what they leave out."""
    return max(totals, key=lambda c: totals[c]) if totals else "USD"


class DashboardData:
    def __init__(self, *, user, filters: Filters, now=None):
        self.user = user
        self.filters = filters
        self.now = now or timezone.now()
        self.today = self.now.date()

    # The slice of spend and of the registry this user may see.

    def spend_qs(self, model=DailySpend):
        """AI spend in the slice, from DailySpend or (for whole months) MonthlySpend: both carry
        the team and use case that visibility and the filters read."""
        return model.objects.filter(permissions.spend_scope(self.user), self.filters.spend_q(), is_ai=True)

    def use_case_qs(self):
        return UseCase.objects.filter(permissions.use_case_scope(self.user), self.filters.use_case_q())

    @cached_property
    def as_of(self) -> datetime.date:
        """The latest day with imported spend, up to today: bills arrive a day or more late."""
        return budget_selectors.spend_data_through(today=self.today) or self.today

    @cached_property
    def period_rows(self) -> list[dict]:
        """AI spend of the period and of the period before, by use case, team, provider, model tier
        and currency: [{use_case_id, team_id, provider_id, model_tier, currency, spend, before}].
        Whole months (the presets) read the monthly rollup; other periods the daily one."""
        start, end = self.filters.start, self.filters.end
        before_start, _ = self.filters.previous
        if periods.whole_months(before_start, end):
            qs, field = self.spend_qs(MonthlySpend).filter(month__gte=before_start, month__lte=end), "month"
        else:
            qs, field = self.spend_qs().filter(date__gte=before_start, date__lte=end), "date"
        rows = (
            qs.order_by()
            .values("use_case_id", "team_id", "provider_id", "model_tier", "currency")
            .annotate(
                spend=Sum("effective_cost", filter=Q(**{f"{field}__gte": start})),
                before=Sum("effective_cost", filter=Q(**{f"{field}__lt": start})),
            )
        )
        return [{**r, "spend": r["spend"] or ZERO, "before": r["before"] or ZERO} for r in rows]

    @cached_property
    def totals(self) -> dict:
        """{currency: spend in the period}."""
        out = defaultdict(Decimal)
        for r in self.period_rows:
            if r["spend"]:
                out[r["currency"]] += r["spend"]
        return dict(out)

    @cached_property
    def totals_before(self) -> dict:
        out = defaultdict(Decimal)
        for r in self.period_rows:
            if r["before"]:
                out[r["currency"]] += r["before"]
        return dict(out)

    @cached_property
    def currency(self) -> str:
        return main_currency(self.totals or self.totals_before)

    @cached_property
    def other_currencies(self) -> list[str]:
        return sorted(c for c, v in self.totals.items() if c != self.currency and v)

    @cached_property
    def trend_months(self) -> list[datetime.date]:
        """The months the trend draws: the twelve to the end of the period."""
        last = periods.month_start(self.filters.end)
        return [periods.months_back(last, n) for n in range(TREND_MONTHS - 1, -1, -1)]

    @cached_property
    def monthly_rows(self) -> list[dict]:
        """AI spend per month and currency over the trend (and this month), from the monthly
        rollup: [{month, currency, total, premium}]. The forecast reads its own history, through
        the one forecast selector."""
        this_month = periods.month_start(self.today)
        last = max(periods.month_start(self.filters.end), this_month)
        first = self.trend_months[0]
        rows = (
            self.spend_qs(MonthlySpend)
            .filter(month__gte=first, month__lte=last)
            .order_by()
            .values("month", "currency")
            .annotate(
                total=Sum("effective_cost"),
                premium=Sum("effective_cost", filter=Q(model_tier__in=PREMIUM_TIERS)),
            )
        )
        return [
            {
                "month": as_date(r["month"]),
                "currency": r["currency"],
                "total": r["total"] or ZERO,
                "premium": r["premium"] or ZERO,
            }
            for r in rows
        ]

    # The same spend in the reporting currency, each day at its rate.

    @cached_property
    def reporting_currency(self) -> str:
        return fx.reporting_currency()

    @cached_property
    def period_day_rows(self) -> list[dict]:
        """AI spend of the period and of the period before per use case, team, model tier,
        currency and day, from the daily rollup: [{use_case_id, team_id, model_tier, currency, day,
        amount}]."""
        before_start, _ = self.filters.previous
        rows = (
            self.spend_qs()
            .filter(date__gte=before_start, date__lte=self.filters.end)
            .order_by()
            .values("use_case_id", "team_id", "model_tier", "currency", "date")
            .annotate(total=Sum("effective_cost"))
        )
        return [
            {
                "use_case_id": r["use_case_id"],
                "team_id": r["team_id"],
                "model_tier": r["model_tier"],
                "currency": r["currency"],
                "day": r["date"],
                "amount": r["total"] or ZERO,
            }
            for r in rows
        ]

    @cached_property
    def period_converted(self):
        """(converted groups of the period, Converted of the period, Converted of the period
        before), read with one rate query."""
        rows = self.period_day_rows
        through = max((r["day"] for r in rows), default=self.filters.end)
        table = fx.RateTable({r["currency"] for r in rows}, self.reporting_currency, through)
        start = self.filters.start
        now, total = fx.convert_groups([r for r in rows if r["day"] >= start], into=table.into, table=table)
        before, total_before = fx.convert_groups(
            [r for r in rows if r["day"] < start], into=table.into, table=table
        )
        return now, before, total, total_before

    @cached_property
    def reporting(self) -> fx.Converted:
        """The period's AI spend in the reporting currency, with its rates and missing days."""
        return self.period_converted[2]

    @cached_property
    def reporting_before(self) -> fx.Converted:
        return self.period_converted[3]

    @cached_property
    def reporting_by_use_case(self) -> dict:
        """{use case id or None: {spend, before, original: {currency: amount}, missing: {currency:
        amount}}}: the period's and the period before's spend in the reporting currency (what had a
        rate), the period's spend as billed and what of it had no rate."""
        now, before = self.period_converted[:2]
        out = {}

        def entry(uc_id):
            return out.setdefault(uc_id, {"spend": ZERO, "before": ZERO, "original": {}, "missing": {}})

        for g, value, _rate in now:
            e = entry(g["use_case_id"])
            e["original"][g["currency"]] = e["original"].get(g["currency"], ZERO) + g["amount"]
            if value is None:
                e["missing"][g["currency"]] = e["missing"].get(g["currency"], ZERO) + g["amount"]
            else:
                e["spend"] += value
        for g, value, _rate in before:
            if value is not None:
                entry(g["use_case_id"])["before"] += value
        return out

    def reporting_sum(self, key, where=lambda g: True) -> dict:
        """{key(group): the period's AI spend in the reporting currency} over the period's groups
        that had a rate and satisfy `where` (the Converted in `reporting` names the others)."""
        out = defaultdict(Decimal)
        for g, value, _rate in self.period_converted[0]:
            if value is not None and where(g):
                out[key(g)] += value
        return dict(out)

    @cached_property
    def trend_reporting(self):
        """({month: AI spend in the reporting currency}, {month: {currency: amount without a
        rate}}, Converted of the trend's months, {month: premium spend in the reporting currency}):
        the trend's months from the daily rollup, each day at its rate."""
        this_month = periods.month_start(self.today)
        last = periods.month_end(max(periods.month_start(self.filters.end), this_month))
        rows = list(
            self.spend_qs()
            .filter(date__gte=self.trend_months[0], date__lte=last)
            .order_by()
            .values("currency", "date")
            .annotate(
                total=Sum("effective_cost"),
                premium=Sum("effective_cost", filter=Q(model_tier__in=PREMIUM_TIERS)),
            )
        )
        into = self.reporting_currency
        table = fx.RateTable(
            {r["currency"] for r in rows}, into, max((r["date"] for r in rows), default=last)
        )
        groups = [{"currency": r["currency"], "day": r["date"], "amount": r["total"] or ZERO} for r in rows]
        converted, whole = fx.convert_groups(groups, into=into, table=table)
        by_month, missing, premium = defaultdict(Decimal), defaultdict(dict), defaultdict(Decimal)
        for g, value, _rate in converted:
            month = periods.month_start(g["day"])
            if value is None:
                missing[month][g["currency"]] = missing[month].get(g["currency"], ZERO) + g["amount"]
            else:
                by_month[month] += value
        premium_groups = [
            {"currency": r["currency"], "day": r["date"], "amount": r["premium"]}
            for r in rows
            if r["premium"]
        ]
        for g, value, _rate in fx.convert_groups(premium_groups, into=into, table=table)[0]:
            if value is not None:
                premium[periods.month_start(g["day"])] += value
        return dict(by_month), dict(missing), whole, dict(premium)

    @cached_property
    def teams(self) -> dict[int, Team]:
        """Every team: spend rows name teams by id (an unscoped read of names only)."""
        return {t.pk: t for t in Team.objects.all()}

    @cached_property
    def providers(self) -> dict[int, Provider]:
        return {p.pk: p for p in Provider.objects.all()}

    @cached_property
    def use_cases(self) -> dict[int, UseCase]:
        """The use cases in the slice, and any other the visible spend names."""
        spent = {r["use_case_id"] for r in self.period_rows if r["use_case_id"]}
        q = permissions.use_case_scope(self.user) & self.filters.use_case_q()
        # An empty Q would vanish from `q | ...` and leave only the spending use cases.
        qs = UseCase.objects.filter(q | Q(pk__in=spent)) if q else UseCase.objects.all()
        qs = qs.select_related("team", "business_owner", "technical_owner")
        return {uc.pk: uc for uc in qs}

    @cached_property
    def _use_case_path(self):
        return reverse("portfolio:use_case_detail", args=["x"])[:-2]

    def use_case_url(self, use_case) -> str:
        """use_case.get_absolute_url() without a URL resolution per row (a big portfolio has
        hundreds of rows; keys are slugs, safe in a path)."""
        return f"{self._use_case_path}{use_case.key}/"

    def in_slice(self, use_case) -> bool:
        """Whether a use case belongs to the slice (not only named by the visible spend)."""
        f = self.filters
        return (
            (not f.function or use_case.business_function == f.function)
            and (f.team is None or use_case.team_id == f.team.pk)
            and (not f.stages or use_case.stage in f.stages)
            and (not f.risk_tiers or use_case.risk_tier in f.risk_tiers)
            and permissions.can_view_use_case(self.user, use_case)
        )

    @cached_property
    def spend_by_use_case(self) -> dict:
        """{(use case id or None, currency): (spend, before)} of the period."""
        out = defaultdict(lambda: [ZERO, ZERO])
        for r in self.period_rows:
            entry = out[r["use_case_id"], r["currency"]]
            entry[0] += r["spend"]
            entry[1] += r["before"]
        return {k: tuple(v) for k, v in out.items()}

    # Unit economics: whole months with value signals.

    @cached_property
    def economics_months(self) -> list[datetime.date]:
        """The complete months of the period; if it holds none (this month so far), the last
        complete month before its end."""
        f = self.filters
        months, month = [], periods.month_start(f.start)
        if month < f.start:
            month = periods.add_months(month, 1)
        while periods.month_end(month) <= f.end:
            months.append(month)
            month = periods.add_months(month, 1)
        if not months:
            last = periods.month_start(f.end)
            months = [last if periods.month_end(last) == f.end else periods.months_back(last, 1)]
        return months

    @cached_property
    def unit_economics(self) -> spend.UnitEconomics:
        """Showback's one unit-economics selector over the economics months of the slice: AI
        spend, other recorded costs and value in the reporting currency, what has no rate named."""
        months = self.economics_months
        start, end = months[0], periods.month_end(months[-1])
        return spend.unit_economics_list(
            self.spend_qs().filter(date__gte=start, date__lte=end).order_by(),
            user=self.user,
            start=start,
            end=end,
            into=self.reporting_currency,
            use_case_q=self.filters.use_case_q(prefix="use_case__"),
        )

    # Vendor overlap: showback's one selector over the period of the slice.

    @cached_property
    def vendor_overlap(self) -> list[dict]:
        qs = self.spend_qs().filter(date__gte=self.filters.start, date__lte=self.filters.end).order_by()
        return spend.vendor_overlap_list(qs, into=self.reporting_currency)

    # Build versus buy: the run rate of the last 30 days of data.

    @cached_property
    def run_rate_rows(self) -> list[dict]:
        """AI spend per use case and currency over the 30 days to the latest day with data."""
        since = self.as_of - datetime.timedelta(days=29)
        rows = (
            DailySpend.objects.filter(
                permissions.spend_scope(self.user),
                is_ai=True,
                use_case__isnull=False,
                date__gte=since,
                date__lte=self.as_of,
            )
            .filter(use_case_id__in=self.use_case_qs().values("pk"))
            .order_by()
            .values("use_case_id", "currency")
            .annotate(total=Sum("effective_cost"))
        )
        return [{**r, "total": r["total"] or ZERO} for r in rows]
