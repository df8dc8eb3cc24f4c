"""Review triggers and escalation rules: why a use case must come before the council.

`review_triggers` reads the whole portfolio in a fixed number of queries (about fifteen, however
many use cases there are) and returns, per use case, every reason that fires now. Each reason has
a `key` naming the fact that fired it (a funding request, a budget period, a model new to the use
case...). A key already on an agenda item that the council decided, or on an item of a published
or running meeting, is left out: the council does not see the same fact twice, and the agenda
builder adds nothing when run again.

Mandatory reviews: a funding request submitted; a pilot asking to scale (a move, or a funding
request, into launch or scale); monthly spend past the threshold; a provider or model new to the
use case in its spend; an intake triaged as review-required and accepted into a use case.
Escalations: spend more than `over_budget_pct` over an active use-case budget; consecutive missed
milestones; a failed quality gate (the latest value signal's quality below the floor, or a
quality gate item reopened after its stage was passed); a high-severity anomaly left open; the
success criteria missed at consecutive monthly reviews, which recommends a sunset.

Low-cost experimentation within budget never reaches the agenda: a concept or MVP use case whose
spend (last full month and month to date) stays under `experiment_limit`, and that is not over any
budget, is not brought in by a new provider or model. It still comes when its
owners ask for funding or escalations fire.

Spend past the threshold is one fact per threshold: once the council has reviewed it, growth
beyond it is for the over-budget escalation (against the budget the council approved) to catch.
Spend is compared in the thresholds' currency only; spend in other currencies is never added.

The package: `reasons` (codes, labels, the Reason record), `facts` (what the rules read, gathered
for all use cases at once) and `rules` (one function per trigger).
"""

from aifinops.core import periods
from portfolio.choices import Stage
from portfolio.models import UseCase

from ..models import ReviewThresholds
from .facts import gather, is_low_cost_experiment, open_high_severity_anomalies, waiting_intakes
from .reasons import (
    ESCALATION,
    KINDS,
    LABELS,
    MANDATORY,
    Code,
    IntakeTriggers,
    Reason,
    UseCaseTriggers,
)
from .rules import RULES, intake_waiting

__all__ = [
    "ESCALATION",
    "KINDS",
    "LABELS",
    "MANDATORY",
    "Code",
    "IntakeTriggers",
    "Reason",
    "UseCaseTriggers",
    "intake_triggers",
    "is_low_cost_experiment",
    "open_high_severity_anomalies",
    "review_triggers",
    "thresholds_for",
]


def thresholds_for(council) -> ReviewThresholds:
    """The council's thresholds, or the defaults (unsaved) when none were set."""
    found = ReviewThresholds.objects.filter(council=council).first() if council is not None else None
    return found or ReviewThresholds(council=council)


def review_triggers(*, thresholds, today=None, use_case_ids=None, exclude_meeting=None):
    """{use case id: UseCaseTriggers} of the use cases with at least one reason not yet handled.

    `exclude_meeting` is the draft being built: keys already on it are not treated as handled, so
    the builder sees every reason and adds the new ones to its items.
    """
    today = today or periods.today()
    use_cases = UseCase.objects.exclude(stage=Stage.SUNSET).order_by("id")
    if use_case_ids is not None:
        use_cases = use_cases.filter(pk__in=use_case_ids)
    use_cases = list(use_cases)
    if not use_cases:
        return {}
    facts = gather(
        [uc.pk for uc in use_cases], thresholds=thresholds, today=today, exclude_meeting=exclude_meeting
    )
    found = {}
    for use_case in use_cases:
        done = facts.handled.get(use_case.pk, set())
        reasons = [r for rule in RULES for r in rule(use_case, facts) if r.key not in done]
        if not reasons:
            continue
        request = facts.funding.get(use_case.pk)
        if request is not None:
            at_stake, currency = request.amount, request.currency
        else:
            at_stake = facts.spend_of(use_case).peak or use_case.expected_monthly_cost
            currency = thresholds.currency
        found[use_case.pk] = UseCaseTriggers(
            use_case=use_case, reasons=reasons, amount_at_stake=at_stake, currency=currency
        )
    return found


def intake_triggers(*, exclude_meeting=None):
    """{intake id: IntakeTriggers} of the intakes waiting for the council's review whose reason
    the council has not seen yet (decided, or on a published or running meeting). The amount at
    stake is the intake's expected monthly cost."""
    found = {}
    for intake, done in waiting_intakes(exclude_meeting=exclude_meeting):
        reasons = [r for r in intake_waiting(intake) if r.key not in done]
        if reasons:
            found[intake.pk] = IntakeTriggers(
                intake=intake,
                reasons=reasons,
                amount_at_stake=intake.expected_monthly_cost or 0,
                currency=intake.currency,
            )
    return found
