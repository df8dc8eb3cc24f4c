"""The dashboard's filters: a period and the slice of the portfolio (function, team, stage, risk).

One form parses them for the page, its htmx refreshes and the CSV downloads; `Filters` turns them
into the Q objects that the spend rollup and the use cases are filtered with.
"""

import datetime
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django import forms
from django.db.models import Q

from aifinops.core import periods, permissions
from aifinops.core.widgets import DateInput, DropdownMultiple, style_fields
from portfolio.choices import BusinessFunction, RiskTier, Stage
from portfolio.models import Team, UseCase

# Longer periods only draw more empty months; the rollups stay cheap either way.
MAX_PERIOD_DAYS = 366 * 3

PRESETS = (
    ("last_month", "Last month"),
    ("this_month", "This month"),
    ("last_3_months", "Last 3 months"),
    ("last_12_months", "Last 12 months"),
)
DEFAULT_PRESET = "last_month"


def preset_period(preset: str, day: datetime.date) -> tuple[datetime.date, datetime.date]:
    """(start, end) of a preset on `day`; complete months except "this month" (to date)."""
    this_month = periods.month_start(day)
    last_day = this_month - datetime.timedelta(days=1)
    return {
        "this_month": (this_month, day),
        "last_month": (periods.months_back(day, 1), last_day),
        "last_3_months": (periods.months_back(day, 3), last_day),
        "last_12_months": (periods.months_back(day, 12), last_day),
    }[preset]


def previous_period(start: datetime.date, end: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The period just before, of the same length: the same number of whole months when the period
    is whole months (October against September), else the same number of days."""
    months = periods.whole_months(start, end)
    if months is not None:
        return periods.months_back(start, months), start - datetime.timedelta(days=1)
    days = (end - start).days + 1
    return start - datetime.timedelta(days=days), start - datetime.timedelta(days=1)


@dataclass(frozen=True)
class Filters:
    start: datetime.date
    end: datetime.date
    function: str = ""
    team: Team | None = None
    stages: tuple = ()
    risk_tiers: tuple = ()
    errors: tuple = field(default=(), compare=False)

    @property
    def previous(self):
        return previous_period(self.start, self.end)

    @property
    def narrowed(self) -> bool:
        return bool(self.function or self.team or self.stages or self.risk_tiers)

    @property
    def by_use_case(self) -> bool:
        """Stage and risk belong to use cases: spend attributed to none drops out of view."""
        return bool(self.stages or self.risk_tiers)

    def params(self) -> dict:
        out = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        if self.function:
            out["function"] = self.function
        if self.team is not None:
            out["team"] = self.team.slug
        return out

    def querystring(self, **changes) -> str:
        pairs = list({**self.params(), **changes}.items())
        pairs += [("stage", s) for s in self.stages] + [("risk_tier", r) for r in self.risk_tiers]
        return urlencode([(k, v) for k, v in pairs if v not in (None, "")])

    def use_case_q(self, prefix="") -> Q:
        """The use cases in the slice."""
        q = Q()
        if self.function:
            q &= Q(**{f"{prefix}business_function": self.function})
        if self.team is not None:
            q &= Q(**{f"{prefix}team_id": self.team.pk})
        if self.stages:
            q &= Q(**{f"{prefix}stage__in": self.stages})
        if self.risk_tiers:
            q &= Q(**{f"{prefix}risk_tier__in": self.risk_tiers})
        return q

    def spend_q(self) -> Q:
        """The spend rows in the slice. Spend with no use case belongs to its team's function; it
        has no stage or risk tier, so those filters leave it out. Subqueries, not joins: the
        rollup is the big table."""
        q = Q()
        if self.team is not None:
            q &= Q(team_id=self.team.pk)
        if self.by_use_case or self.function:
            in_slice = Q(use_case_id__in=UseCase.objects.filter(self.use_case_q()).values("pk"))
            if self.function and not self.by_use_case:
                in_slice |= Q(
                    use_case__isnull=True,
                    team_id__in=Team.objects.filter(business_function=self.function).values("pk"),
                )
            q &= in_slice
        return q


class DashboardFilterForm(forms.Form):
    start = forms.DateField(required=False, label="From", widget=DateInput)
    end = forms.DateField(required=False, label="To (inclusive)", widget=DateInput)
    function = forms.ChoiceField(
        required=False, choices=[("", "Any"), *BusinessFunction.choices], label="Function"
    )
    team = forms.ModelChoiceField(
        required=False, queryset=Team.objects.none(), to_field_name="slug", empty_label="Any", label="Team"
    )
    stage = forms.MultipleChoiceField(required=False, choices=Stage.choices, widget=DropdownMultiple)
    risk_tier = forms.MultipleChoiceField(
        required=False, choices=RiskTier.choices, widget=DropdownMultiple, label="Risk tier"
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the teams this user may see.
        self.fields["team"].queryset = Team.objects.filter(permissions.team_scope(user)).order_by("name")
        style_fields(self.fields, small=True)


def parse_filters(params, *, user, today=None) -> tuple[Filters, DashboardFilterForm]:
    """Filters from query parameters. What cannot be used is dropped with a message that says so
    (the page still answers): a bad date falls back to the default period."""
    day = today or periods.today()
    default_start, default_end = preset_period(DEFAULT_PRESET, day)
    form = DashboardFilterForm(params, user=user)
    form.is_valid()
    data = form.cleaned_data
    errors = []
    for name, problems in form.errors.items():
        label = form.fields[name].label or name.replace("_", " ").capitalize()
        errors.append(f"{label}: {' '.join(problems)} It is ignored.")
    start = data.get("start") or default_start
    end = data.get("end") or default_end
    if start > end:
        errors.append("The start date is after the end date; showing last month.")
        start, end = default_start, default_end
    elif (end - start).days > MAX_PERIOD_DAYS:
        errors.append("Choose a period of three years or less; showing last month.")
        start, end = default_start, default_end
    filters = Filters(
        start=start,
        end=end,
        function=data.get("function") or "",
        team=data.get("team"),
        stages=tuple(data.get("stage") or ()),
        risk_tiers=tuple(data.get("risk_tier") or ()),
        errors=tuple(errors),
    )
    return filters, form


def default_filters(today=None) -> Filters:
    """The whole portfolio over last month: what the narrative and the scorecard read."""
    start, end = preset_period(DEFAULT_PRESET, today or periods.today())
    return Filters(start=start, end=end)
