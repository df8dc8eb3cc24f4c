"""Writes of attribution: finance's rules, and re-attributing history when they change."""

from django.core.exceptions import PermissionDenied
from django.db import transaction

from aifinops.core import permissions
from aifinops.core.audit import audit_record, snapshot

from ..attribution import Attributor, Facts, normalise_tags
from ..models import AttributionRule, SpendRecord
from .rollups import daily_spend_rebuild

CHUNK = 2000
AI_CATEGORY = "ai and machine learning"
ATTRIBUTED = ("use_case_id", "team_id", "environment", "customer", "feature", "attributed_by", "is_ai")


def _check(actor):
    if actor is not None and not permissions.can_manage_attribution(actor):
        raise PermissionDenied("Only finance analysts and platform admins keep the attribution rules.")


def _queue_reattribution(actor):
    from ..tasks import reattribute_spend

    actor_id = actor.pk if actor is not None else None
    transaction.on_commit(lambda: reattribute_spend.delay(actor_id))


@transaction.atomic
def attribution_rule_save(*, actor, values, rule=None):
    """Create or change a rule from validated values; history is re-attributed in the background."""
    _check(actor)
    before = snapshot(rule) if rule is not None else None
    rule = rule or AttributionRule()
    for name, value in values.items():
        setattr(rule, name, value)
    rule.match_key = rule.match_key.strip().lower()
    rule.full_clean()
    rule.save()
    audit_record(
        actor=actor,
        action="attribution_rule.update" if before else "attribution_rule.create",
        obj=rule,
        before=before,
        after=snapshot(rule),
    )
    _queue_reattribution(actor)
    return rule


@transaction.atomic
def attribution_rule_delete(*, actor, rule):
    _check(actor)
    audit_record(actor=actor, action="attribution_rule.delete", obj=rule, before=snapshot(rule))
    rule.delete()
    _queue_reattribution(actor)


def _is_ai(record, use_case):
    # FOCUS bills hold all cloud spend: only the AI category, or spend a rule gives to a use case,
    # counts as AI. The other sources are AI vendors' own exports.
    base = record.source != "focus" or record.service_category.strip().lower() == AI_CATEGORY
    return base or use_case is not None


@transaction.atomic
def spend_reattribute(*, actor=None):
    """Apply the current rules to every spend record, then rebuild the rollups of changed days.

    Returns the number of records whose attribution changed.
    """
    attributor = Attributor()
    changed, first, last = 0, None, None
    last_id = 0
    while True:
        chunk = list(SpendRecord.objects.filter(pk__gt=last_id).order_by("pk")[:CHUNK])
        if not chunk:
            break
        last_id = chunk[-1].pk
        updates = []
        for record in chunk:
            found = attributor.attribute(
                Facts(
                    tags=normalise_tags(record.tags),
                    sub_account=record.sub_account,
                    billing_account=record.billing_account,
                    api_key=record.api_key,
                    service=record.service_name,
                    provider=record.provider_name,
                )
            )
            new = {
                "use_case_id": found.use_case.pk if found.use_case else None,
                "team_id": found.team.pk if found.team else None,
                "environment": found.environment[:16],
                "customer": found.customer[:150],
                "feature": found.feature[:150],
                "attributed_by": found.source,
                "is_ai": _is_ai(record, found.use_case),
            }
            if any(getattr(record, k) != v for k, v in new.items()):
                for k, v in new.items():
                    setattr(record, k, v)
                updates.append(record)
        SpendRecord.objects.bulk_update(updates, list(ATTRIBUTED), batch_size=CHUNK)
        changed += len(updates)
        # The days to roll up again, kept as a span rather than a list of every changed row.
        for record in updates:
            day = record.charge_period_start.date()
            first = day if first is None or day < first else first
            last = day if last is None or day > last else last
    if changed:
        daily_spend_rebuild(start=first, end=last)
    audit_record(
        actor=actor,
        action="attribution.reattribute",
        object_type="showback.spendrecord",
        object_id="all",
        after={"records_changed": changed},
    )
    return changed
