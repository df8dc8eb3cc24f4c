"""What a change of the triage rules does to the intakes still waiting for a decision.

Triage decides an intake's path when it is submitted; a triaged intake then waits for a decider
(the council or a platform admin). Until that decision its triage result still steers it, so a
change of the rules re-triages those open intakes, and only those: an accepted, rejected or
withdrawn intake keeps the triage it was decided on, and a draft is triaged when it is submitted.

`retriage_plan` is the one computation: the preview shows its result before anything is saved,
and `intake.services.triage_rules_change` carries out the very same plan, so they cannot disagree.
"""

import hashlib
import json
from dataclasses import dataclass

from portfolio.choices import RiskTier

from .models import IntakeRequest, IntakeStatus, ReviewPath, TriageRuleCode
from .selectors import triage_rule_settings
from .triage import IntakeFacts, RuleSetting, TriageResult, triage

OPEN_STATUSES = (IntakeStatus.TRIAGED,)
# The rules whose threshold means something: an amount in USD, or a count of high-risk factors.
THRESHOLD_RULES = (
    TriageRuleCode.COST_ABOVE_THRESHOLD,
    TriageRuleCode.COST_ABOVE_HIGH_THRESHOLD,
    TriageRuleCode.COMBINED_HIGH_RISKS,
)


def stored_result(intake) -> dict:
    """An intake's triage as it is stored on it."""
    return {
        "risk_tier": intake.risk_tier,
        "review_path": intake.review_path,
        "triage_reasons": list(intake.triage_reasons or []),
        "triage_warnings": list(intake.triage_warnings or []),
    }


def result_as_stored(result: TriageResult) -> dict:
    return {
        "risk_tier": result.risk_tier,
        "review_path": result.review_path,
        "triage_reasons": [r.as_dict() for r in result.reasons],
        "triage_warnings": [w.as_dict() for w in result.warnings],
    }


@dataclass(frozen=True)
class RetriageChange:
    """One open intake whose triage the rules change: as it stands, and as it would be."""

    intake: IntakeRequest
    before: dict
    result: TriageResult

    @property
    def after(self) -> dict:
        return result_as_stored(self.result)

    @property
    def tier_before(self):
        return _label(RiskTier, self.before["risk_tier"])

    @property
    def tier_after(self):
        return _label(RiskTier, self.result.risk_tier)

    @property
    def path_before(self):
        return _path_words(self.before["review_path"])

    @property
    def path_after(self):
        return _path_words(self.result.review_path)

    @property
    def why(self) -> list[str]:
        """What moved, in words: reasons gained or lost, reasons whose tier changed, warnings."""
        tiers = dict(RiskTier.choices)
        old = {r.get("code"): r for r in self.before["triage_reasons"] if isinstance(r, dict)}
        new = {r.code: r for r in self.result.reasons}
        lines = []
        for code, reason in new.items():
            was = old.get(code)
            if was is None:
                lines.append(f"Now counts: {reason.text} ({tiers.get(reason.tier, reason.tier)})")
            elif was.get("tier") != reason.tier:
                lines.append(
                    f"{reason.text} {tiers.get(was.get('tier'), was.get('tier'))} → "
                    f"{tiers.get(reason.tier, reason.tier)}"
                )
            elif was.get("text") != reason.text:
                lines.append(f"{was.get('text')} → {reason.text}")
        lines += [f"No longer counts: {r.get('text', code)}" for code, r in old.items() if code not in new]
        if self.before["triage_warnings"] != self.after["triage_warnings"]:
            lines.append("Its warnings are refreshed.")
        return lines


def _label(choices, value):
    return dict(choices.choices).get(value, value or "none")


def _path_words(value):
    return {ReviewPath.FAST_TRACK: "Fast track", ReviewPath.REVIEW: "Review required"}.get(
        value, value or "none"
    )


def open_intakes(*, lock=False):
    qs = IntakeRequest.objects.filter(status__in=OPEN_STATUSES).order_by("pk")
    if lock:
        qs = qs.select_for_update(of=("self",))
    return qs.select_related("team", "requester").prefetch_related("ai_models")


def retriage_plan(rules, intakes) -> list[RetriageChange]:
    """The open intakes whose stored triage differs from their triage under `rules`."""
    changes = []
    for intake in intakes:
        if intake.status not in OPEN_STATUSES:
            continue
        result = triage(IntakeFacts.of(intake), rules)
        before = stored_result(intake)
        if result_as_stored(result) != before:
            changes.append(RetriageChange(intake=intake, before=before, result=result))
    return changes


def rules_with(edits, rules=None):
    """The rules in force with `edits` ({code: RuleSetting}) laid over them."""
    rules = dict(rules if rules is not None else triage_rule_settings())
    rules.update(edits)
    return rules


def plan_fingerprint(rules, changes) -> str:
    """A digest of the rules and the changes they make: a save carries the preview's, and is refused
    if the rules or the open intakes moved in between, rather than doing what nobody looked at."""
    data = {
        "rules": {
            code: [s.tier, None if s.threshold is None else str(s.threshold.normalize()), s.enabled]
            for code, s in sorted(rules.items())
        },
        "changes": [[c.intake.pk, c.before, c.after] for c in changes],
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def triage_rules_preview(*, edits):
    """(changes, fingerprint): what saving `edits` would do to the open intakes, nothing saved."""
    rules = rules_with(edits)
    changes = retriage_plan(rules, open_intakes())
    return changes, plan_fingerprint(rules, changes)


def setting_of(rule) -> RuleSetting:
    return RuleSetting(tier=rule.tier, threshold=rule.threshold, enabled=rule.enabled)
