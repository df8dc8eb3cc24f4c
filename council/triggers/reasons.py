"""The reasons a use case comes before the council: codes, labels, and the records the rules give."""

from dataclasses import dataclass, field
from decimal import Decimal

from portfolio.models import UseCase

from ..models import SEVERITY_RANK, Severity

ZERO = Decimal("0")


class Code:
    FUNDING_REQUEST = "funding_request"
    SCALE_REQUEST = "scale_request"
    SPEND_THRESHOLD = "spend_threshold"
    NEW_SERVICE = "new_variable_cost_service"
    INTAKE_REVIEW = "intake_review_required"
    INTAKE_WAITING = "intake_waiting_for_review"
    OVER_BUDGET = "over_budget"
    MISSED_MILESTONES = "missed_milestones"
    QUALITY_GATE = "quality_gate_failed"
    OPEN_ANOMALY = "open_high_severity_anomaly"
    CRITERIA_MISSED = "success_criteria_missed"


MANDATORY = "mandatory"
ESCALATION = "escalation"

LABELS = {
    Code.FUNDING_REQUEST: "Funding requested for the next milestone",
    Code.SCALE_REQUEST: "Pilot asking to scale",
    Code.SPEND_THRESHOLD: "Spend past the review threshold",
    Code.NEW_SERVICE: "Variable-cost AI service introduced",
    Code.INTAKE_REVIEW: "Intake triaged as review required",
    Code.INTAKE_WAITING: "New intake waiting for the council's review",
    Code.OVER_BUDGET: "Over the approved budget",
    Code.MISSED_MILESTONES: "Consecutive missed milestones",
    Code.QUALITY_GATE: "Quality gate failed",
    Code.OPEN_ANOMALY: "High-severity anomaly left open",
    Code.CRITERIA_MISSED: "Success criteria missed: sunset recommended",
}
KINDS = {
    Code.FUNDING_REQUEST: MANDATORY,
    Code.SCALE_REQUEST: MANDATORY,
    Code.SPEND_THRESHOLD: MANDATORY,
    Code.NEW_SERVICE: MANDATORY,
    Code.INTAKE_REVIEW: MANDATORY,
    Code.INTAKE_WAITING: MANDATORY,
    Code.OVER_BUDGET: ESCALATION,
    Code.MISSED_MILESTONES: ESCALATION,
    Code.QUALITY_GATE: ESCALATION,
    Code.OPEN_ANOMALY: ESCALATION,
    Code.CRITERIA_MISSED: ESCALATION,
}


@dataclass(frozen=True)
class Reason:
    code: str
    detail: str
    severity: str
    key: str

    @property
    def label(self):
        return LABELS[self.code]

    def as_dict(self):
        return {
            "code": self.code,
            "label": self.label,
            "detail": self.detail,
            "severity": str(self.severity),
            "kind": KINDS[self.code],
            "key": self.key,
        }


@dataclass
class UseCaseTriggers:
    """Every reason that brings one use case before the council now."""

    use_case: UseCase
    reasons: list = field(default_factory=list)
    amount_at_stake: Decimal = ZERO
    currency: str = "USD"

    @property
    def severity(self):
        return max((r.severity for r in self.reasons), key=lambda s: SEVERITY_RANK[s], default=Severity.LOW)

    @property
    def codes(self):
        return [r.code for r in self.reasons]


@dataclass
class IntakeTriggers:
    """Every reason that brings one intake (not yet a use case) before the council now."""

    intake: object
    reasons: list = field(default_factory=list)
    amount_at_stake: Decimal = ZERO
    currency: str = "USD"

    @property
    def severity(self):
        return max((r.severity for r in self.reasons), key=lambda s: SEVERITY_RANK[s], default=Severity.LOW)
