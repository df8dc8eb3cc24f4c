"""The executive narrative: plain sentences computed from the data, each with links to its evidence.

No language model: every sentence is a template filled from the dashboard's figures over last
month (the whole portfolio), so the same data always reads the same way. It is written to help the
company allocate intelligence better, not to argue against spending: it says where value shows up
as plainly as where cost does.
"""

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from aifinops.core import periods
from aifinops.core.templatetags.afo import money
from portfolio.catalog import ROUTING_GUIDANCE
from portfolio.choices import BusinessFunction, ModelTier, TaskKind
from showback.budgets import selectors as budget_selectors
from showback.fx import plain_rate

from .. import figures
from ..data import PREMIUM_TIERS, ZERO, DashboardData
from ..filters import default_filters
from . import actions
from .text import Section, Sentence, _names, _pct


@dataclass
class Narrative:
    start: object
    end: object
    as_of: object
    currency: str
    sections: list


def _cost(row):
    return row["model_cost"] + row["other_costs"]


class _Writer:
    def __init__(self, data: DashboardData):
        self.data = data
        self.f = {key: build(data) for key, build in figures.FIGURES.items()}
        self.head = figures.headline(data)
        self.currency = data.currency
        self.query = data.filters.querystring()

    def m(self, amount, currency=None):
        """An amount in words: whole units from 100 up or when whole, cents otherwise ($2.50, $50,
        $1,275)."""
        amount = amount or ZERO
        if abs(amount) >= 100 or amount == amount.to_integral_value():
            return money(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP), currency or self.currency)[:-3]
        return money(amount, currency or self.currency)

    def board(self, anchor, label):
        return (label, f"{reverse('dashboard:index')}?{self.query}#{anchor}")

    # Where the company spends.

    def spends(self):
        """In the reporting currency, as the dashboard's AI spend, trend and top use cases: other
        currencies at each day's rate, the rates named, spend without a rate named and left out."""
        d, h = self.data, self.head
        cur = h["currency"]
        if not h["total"] and not h["reporting"].missing:
            return [
                Sentence("No AI spend was recorded in the period.", [self.board("trend", "Monthly trend")])
            ]
        span = (
            f"{d.filters.start:%B %Y}"
            if figures_months(d) == 1
            else f"{d.filters.start:%-d %b} to {d.filters.end:%-d %b %Y}"
        )
        growth = h["growth"]
        change = (
            "the first spend on record"
            if growth is None
            else f"{'up' if growth > 0 else 'down'} {_pct(abs(growth))} on the period before"
        )
        spent = f"{self.m(h['total'], cur)} on AI{_converted(h['reporting'])}"
        text = f"In {span} the company spent {spent}, {change}."
        missing = h["reporting"].missing
        if missing:
            text += (
                " Not counted for want of an exchange rate: "
                + _names((self.m(m.amount, m.currency) for m in missing), 4)
                + "."
            )
        by_function = defaultdict(Decimal)
        for g, value, _rate in d.period_converted[0]:
            if value is None or not value:
                continue
            uc = d.use_cases.get(g["use_case_id"])
            team = d.teams.get(g["team_id"])
            function = uc.business_function if uc else (team.business_function if team else "")
            by_function[function] += value
        if by_function and h["total"]:
            top_function, amount = max(by_function.items(), key=lambda kv: kv[1])
            label = dict(BusinessFunction.choices).get(top_function, "Spend with no function")
            text += f" {label} took the largest share, {_pct(amount / h['total'])}."
        top = self.f["top_cost"].rows[:3]
        if top and h["total"]:
            share = sum((r["spend"] for r in top), ZERO) / h["total"]
            names = _names(f"{r['use_case']} ({self.m(r['spend'], cur)})" for r in top)
            text += f" The {len(top)} largest use cases, {names}, were {_pct(share)} of it."
        forecast = self.f["trend"].headline
        if forecast.get("next_month") is not None:
            text += f" The forecast for next month is {self.m(forecast['next_month'], cur)}."
        evidence = [
            self.board("top_cost", "Top use cases by cost"),
            self.board("trend", "Monthly trend and forecast"),
        ]
        return [Sentence(text, evidence)]

    # Where value shows up.

    def value(self):
        reported = [r for r in self.f["unit_economics"].in_currency() if r["outcomes"]]
        # A use case with spend, costs or value without an exchange rate is named, not added up.
        rows = [r for r in reported if not r["not_converted"]]
        unconverted = [r for r in reported if r["not_converted"]]
        ue = self.f["unit_economics"]
        if not reported:
            return [
                Sentence(
                    f"No use case reported value in {ue.headline['span']}: value signals are missing.",
                    [self.board("unit_economics", "Unit economics")],
                )
            ]
        cost = sum((r["model_cost"] + r["other_costs"] for r in rows), ZERO)
        value = sum((r["value"] for r in rows), ZERO)
        ranked = sorted(rows, key=lambda r: -(r["value"] - r["model_cost"] - r["other_costs"]))
        best = [r for r in ranked if r["viable"]][:3]
        text = (
            f"{len(rows)} use case{'s' if len(rows) != 1 else ''} reported their outcomes for "
            f"{ue.headline['span']}: outcomes worth "
            f"{self.m(value)} for {self.m(cost)} of AI and other recorded cost"
            + (f", {value / cost:.1f} times what they cost." if cost else ".")
            if rows
            else f"No use case that reported its outcomes for {ue.headline['span']} can be weighed."
        )
        if unconverted:
            text += (
                " Not weighed for want of an exchange rate: "
                + _names(f"{r['use_case']} ({r['not_converted']})" for r in unconverted)
                + "."
            )
        if best:
            text += (
                " Value shows up most in "
                + _names(
                    f"{r['use_case']} ({self.m(r['value'])} of value for {self.m(_cost(r))})" for r in best
                )
                + "."
            )
        out = [
            Sentence(
                text,
                [self.board("unit_economics", "Unit economics"), *[(r["use_case"], r["url"]) for r in best]],
            )
        ]
        losing = [r for r in rows if r["viable"] is False]
        if losing:
            out.append(
                Sentence(
                    f"{len(losing)} use case{'s cost' if len(losing) > 1 else ' costs'} more per outcome "
                    "than "
                    "the outcome is worth: "
                    + _names(
                        f"{r['use_case']} ({self.m(r['cost_per_outcome'])} against "
                        f"{self.m(r['value_per_outcome'])})"
                        for r in losing
                    )
                    + ". Redesign, reprice or retire.",
                    [(r["use_case"], r["url"]) for r in losing],
                )
            )
        if ue.headline["silent"]:
            silent = ue.headline["silent"]
            out.append(
                Sentence(
                    f"{len(silent)} use case{'s' if len(silent) > 1 else ''} with spend reported no value: "
                    f"{_names(silent, 4)}.",
                    [self.board("unit_economics", "Unit economics")],
                )
            )
        return out

    # Where risk is concentrated.

    def risk(self):
        rk = self.f["risk"]
        h = rk.headline
        if not rk.rows:
            return [Sentence("No spend on use cases to weigh for risk.", [])]
        heavy = max(rk.in_currency(), key=lambda r: r["spend"], default=None)
        cur = rk.currency
        text = (
            f"{_pct(h['high_share'])} of use-case spend ({self.m(h['high'], cur)}) runs in high- and "
            "critical-risk use "
            f"cases, and {_pct(h['agentic_share'])} in agents that act with some autonomy."
        )
        if heavy and heavy["spend"]:
            text += (
                f" The heaviest concentration is {heavy['risk_tier'].lower()} risk, "
                f"{heavy['autonomy_level'].lower()}: {self.m(heavy['spend'], cur)} across "
                f"{heavy['use_cases']} use case{'s' if heavy['use_cases'] != 1 else ''}."
            )
        evidence = [self.board("risk", "Spend by risk and autonomy")]
        capped = budget_selectors.capped_use_case_ids(today=self.data.today)
        capped_names = sorted(self.data.use_cases[i].name for i in capped if i in self.data.use_cases)
        if capped_names:
            text += f" Hard caps are stopping spend on {_names(capped_names)}."
        anomalies = _open_high_anomalies(self.data.user)
        if anomalies:
            text += (
                f" {anomalies} high-severity spend anomal{'ies are' if anomalies > 1 else 'y is'} still open."
            )
            evidence.append(("Anomalies", _anomaly_url()))
        return [Sentence(text, evidence)]

    # Where premium models are or are not justified.

    def premium(self):
        d = self.data
        cur = self.head["currency"]
        per_use_case = d.reporting_sum(
            lambda g: g["use_case_id"], where=lambda g: g["model_tier"] in PREMIUM_TIERS and g["use_case_id"]
        )
        total = self.head["total"]
        premium_total = (self.head["premium_share"] or ZERO) * total
        if not premium_total:
            return [Sentence("No spend went to frontier or reasoning models in the period.", [])]
        economics = {r["key"]: r for r in self.f["unit_economics"].rows}
        justified, review, unknown = [], [], []
        for uc_id, amount in sorted(per_use_case.items(), key=lambda kv: -kv[1]):
            uc = d.use_cases.get(uc_id)
            if uc is None or not amount:
                continue
            needs = ROUTING_GUIDANCE.get(uc.task_kind)
            viable = economics.get(uc.key, {}).get("viable")
            entry = (uc, amount, needs)
            if needs is None:
                unknown.append(entry)
            elif needs in PREMIUM_TIERS and viable is not False:
                justified.append(entry)
            else:
                review.append(entry)
        text = (
            f"Frontier and reasoning models took {_pct(self.head['premium_share'])} of AI spend "
            f"({self.m(premium_total, cur)})."
        )
        out = []
        if justified:
            text += (
                " They look justified for "
                + _names(f"{uc.name} ({TaskKind(uc.task_kind).label.lower()})" for uc, _, _ in justified)
                + ": the task needs a premium model and each outcome earns more than it costs."
            )
        out.append(Sentence(text, [self.board("premium", "Premium share over time")]))
        if review:
            amount = sum((a for _, a, _ in review), ZERO)
            out.append(
                Sentence(
                    f"They are worth reviewing for {self.m(amount, cur)} of spend in "
                    + _names(
                        f"{uc.name} ({self.m(a, cur)}: {TaskKind(uc.task_kind).label.lower()} needs "
                        f"{ModelTier(needs).label.lower()} models"
                        + (", and outcomes cost more than they earn" if needs in PREMIUM_TIERS else "")
                        + ")"
                        for uc, a, needs in review
                    )
                    + ": route what a smaller model can do to a smaller model.",
                    [(uc.name, uc.get_absolute_url()) for uc, _, _ in review[:3]],
                )
            )
        if unknown:
            out.append(
                Sentence(
                    f"{_names(uc.name for uc, _, _ in unknown)} use premium models without a recorded "
                    "kind of task, "
                    "so nobody can say whether they need them.",
                    [(uc.name, uc.get_absolute_url()) for uc, _, _ in unknown[:3]],
                )
            )
        return out


def _converted(conv) -> str:
    """ " (EUR and GBP converted at ECB rates of 1 EUR = 1.08 USD and 1 GBP = 1.27 USD, the
    latest of the period)", or "" when nothing was converted."""
    if not conv.rates:
        return ""
    sources = sorted({r.source for r in conv.rates})
    rates = _names((f"1 {r.currency} = {plain_rate(r.rate)} {r.into}" for r in conv.rates), 4)
    latest = max(r.valid_from for r in conv.rates)
    return (
        f" ({_names(r.currency for r in conv.rates)} converted at each day's rate from "
        f"{' and '.join(sources)}, the latest {rates} on {latest:%-d %b %Y})"
    )


def figures_months(data):
    return periods.whole_months(data.filters.start, data.filters.end)


def _open_high_anomalies(user) -> int:
    """Open high-severity anomalies the user may see, when showback's analytics are there."""
    try:
        from showback.analytics.selectors import anomaly_queryset
        from showback.models import AnomalyStatus, Severity
    except ImportError:  # pragma: no cover - the analytics ship with showback
        return 0
    return (
        anomaly_queryset(user=user)
        .filter(severity=Severity.HIGH, status__in=(AnomalyStatus.OPEN, AnomalyStatus.ACKNOWLEDGED))
        .count()
    )


def _anomaly_url():
    try:
        return reverse("analytics:anomaly_list")
    except NoReverseMatch:  # the anomaly pages are routed by showback's analytics
        return reverse("showback:index")


SECTIONS = (
    ("spend", "Where the company spends", _Writer.spends),
    ("value", "Where value shows up", _Writer.value),
    ("risk", "Where risk is concentrated", _Writer.risk),
    ("premium", "Where premium models are or are not justified", _Writer.premium),
    ("sprawl", "Where sprawl exists", actions.sprawl),
    ("governance", "Where governance is slow", actions.governance),
    ("decisions", "What decisions are needed", actions.decisions),
)


def narrative_get(*, user, now=None, filters=None) -> Narrative:
    """The narrative of `filters` (by default last month, the whole portfolio) for a user who may
    see the whole portfolio (the caller checked)."""
    now = now or timezone.now()
    data = DashboardData(user=user, filters=filters or default_filters(now.date()), now=now)
    writer = _Writer(data)
    sections = [Section(key, title, write(writer)) for key, title, write in SECTIONS]
    return Narrative(
        start=data.filters.start,
        end=data.filters.end,
        as_of=data.as_of,
        currency=data.currency,
        sections=sections,
    )
