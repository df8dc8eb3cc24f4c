"""Writes of attribution: finance's rules, and re-attributing history when they change."""

from django.db import transaction
from django.db.models import Count, Sum

from aifinops.core import permissions
from aifinops.core.audit import audit_record, snapshot
from aifinops.core.services import audited_save

from ..categories import is_ai_category
from ..models import AttributionRule, MatchField, SpendRecord
from ..rollups import daily_spend_rebuild
from .engine import Attributor, Facts
from .selectors import records_with_tag_key

CHUNK = 2000
ATTRIBUTED = ("use_case_id", "team_id", "environment", "customer", "feature", "attributed_by", "is_ai")
# What re-attribution reads of a record: the facts rules look at, what decides is_ai, the day to
# roll up again and the attribution itself; not the raw_extras and other columns of a bill line.
READ = (
    "tags",
    "sub_account",
    "billing_account",
    "api_key",
    "service_name",
    "provider_name",
    "source",
    "service_category",
    "charge_period_start",
    *ATTRIBUTED,
)


def _check(actor):
    if actor is not None:
        permissions.require(actor, permissions.KEEP_ATTRIBUTION_RULES)


def _queue_reattribution(actor):
    from .tasks import reattribute_spend

    actor_id = actor.pk if actor is not None else None
    transaction.on_commit(lambda: reattribute_spend.delay(actor_id))


def _normalise_key(rule):
    rule.match_key = rule.match_key.strip().lower()


@transaction.atomic
def attribution_rule_save(*, actor, values, rule=None):
    """Create or change a rule from validated values; history is re-attributed in the background."""
    _check(actor)
    rule = audited_save(
        rule or AttributionRule(), actor=actor, values=values, noun="attribution_rule", prepare=_normalise_key
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
    # Spend a rule gives to a use case is AI. Otherwise the service category decides, as it did on
    # import: FOCUS bills (and the demo's cloud spend) hold all kinds of spend, and the AI vendors'
    # exports all name the AI category. A record that names no category is AI unless it is a
    # FOCUS line: the gateway's usage names none.
    if use_case is not None:
        return True
    if record.service_category.strip():
        return is_ai_category(record.service_category)
    return record.source != "focus"


@transaction.atomic
def spend_reattribute(*, actor=None, records=None):
    """Apply the current rules to every spend record (or to the `records` queryset, when only they
    can have changed), then rebuild the rollups of changed days.

    Returns the number of records whose attribution changed.
    """
    attributor = Attributor()
    changed, first, last = 0, None, None
    last_id = 0
    records = SpendRecord.objects.all() if records is None else records
    while True:
        chunk = list(records.filter(pk__gt=last_id).only(*READ).order_by("pk")[:CHUNK])
        if not chunk:
            break
        last_id = chunk[-1].pk
        updates = []
        for record in chunk:
            found = attributor.attribute(Facts.of(record))
            new = {**found.record_fields(), "is_ai": _is_ai(record, found.use_case)}
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


@transaction.atomic
def tag_mapping_apply(*, actor, key, mappings):
    """Map the values of one tag key to teams and use cases: one attribution rule per value, then
    the spend that carries the key re-attributed with them, in one audited step.

    `mappings` is [(value, team or None, use case or None)], values distinct. Returns (rules,
    {rule id: {rows, totals}}): what each rule attributed, which the preview showed in advance.
    """
    _check(actor)
    key = key.strip().lower()
    rules = []
    for value, team, use_case in mappings:
        rule = AttributionRule(
            name=f"Tag {key} = {value}"[:150],
            match_field=MatchField.TAG,
            match_key=key,
            match_value=value,
            team=team,
            use_case=use_case,
        )
        rule.full_clean()
        rule.save()
        audit_record(actor=actor, action="attribution_rule.create", obj=rule, after=snapshot(rule))
        rules.append(rule)
    carrying = records_with_tag_key(key)
    changed = spend_reattribute(actor=actor, records=carrying)
    marks = {f"rule:{rule.pk}": rule.pk for rule in rules}
    attributed = {rule.pk: {"rows": 0, "totals": {}} for rule in rules}
    rows = (
        carrying.filter(attributed_by__regex=r"(^|,)rule:\d+(,|$)")
        .values("attributed_by", "currency")
        .annotate(rows=Count("id"), total=Sum("effective_cost"))
        .order_by()
    )
    for r in rows:
        for mark in r["attributed_by"].split(","):
            if mark in marks:
                entry = attributed[marks[mark]]
                entry["rows"] += r["rows"]
                entry["totals"][r["currency"]] = entry["totals"].get(r["currency"], 0) + r["total"]
    audit_record(
        actor=actor,
        action="attribution.tag_mapping",
        object_type="showback.attributionrule",
        object_id=",".join(str(rule.pk) for rule in rules)[:64] or "none",
        after={
            "tag_key": key,
            "rules": [
                {
                    "rule": rule.pk,
                    "value": rule.match_value,
                    "team": rule.team.slug if rule.team else None,
                    "use_case": rule.use_case.key if rule.use_case else None,
                    "rows": attributed[rule.pk]["rows"],
                    "totals": {c: str(t) for c, t in attributed[rule.pk]["totals"].items()},
                }
                for rule in rules
            ],
            "records_changed": changed,
        },
    )
    return rules, attributed
