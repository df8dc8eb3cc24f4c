"""Reads for attribution: the rules, where unattributed spend comes from, and the tags it carries."""

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import BooleanField, Count, Q, Sum
from django.db.models.expressions import RawSQL

from aifinops.core import periods

from ..models import AttributionRule, DailySpend, ImportBatch, SpendRecord
from .engine import Attributor, Facts

COST_STEP = Decimal("1e-10")  # showback.models.COST: ten decimal places

WINDOW_DAYS = 90
# The fields a rule can match, with the label shown for each source of unattributed spend.
SOURCE_FIELDS = [("sub_account", "Sub account"), ("api_key", "API key or alias"), ("service_name", "Service")]
# What the preview reads of a record: the facts rules look at, its current attribution and cost.
PREVIEW_READ = (
    "tags",
    "sub_account",
    "billing_account",
    "api_key",
    "service_name",
    "provider_name",
    "use_case_id",
    "team_id",
    "effective_cost",
    "currency",
)


@dataclass(frozen=True)
class Scope:
    """Which unattributed spend a page looks at: a period (inclusive), one import, AI or all."""

    start: datetime.date | None = None
    end: datetime.date | None = None
    import_id: int | None = None
    ai_only: bool = True

    @classmethod
    def default(cls):
        today = periods.today()
        return cls(start=today - datetime.timedelta(days=WINDOW_DAYS - 1), end=today)

    def records(self):
        q = Q(use_case__isnull=True)
        if self.ai_only:
            q &= Q(is_ai=True)
        if self.start:
            q &= Q(charge_period_start__gte=_midnight(self.start))
        if self.end:
            q &= Q(charge_period_start__lt=_midnight(self.end + datetime.timedelta(days=1)))
        if self.import_id:
            q &= Q(import_batch_id=self.import_id)
        return SpendRecord.objects.filter(q)

    def rollups(self):
        q = Q(use_case__isnull=True)
        if self.ai_only:
            q &= Q(is_ai=True)
        if self.start:
            q &= Q(date__gte=self.start)
        if self.end:
            q &= Q(date__lte=self.end)
        if self.import_id:
            q &= Q(import_batch_id=self.import_id)
        return DailySpend.objects.filter(q)


def _midnight(day):
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)


def attribution_rule_list():
    return list(AttributionRule.objects.select_related("use_case", "team").order_by("priority", "id"))


def import_name(*, import_id):
    return ImportBatch.objects.filter(pk=import_id).values_list("original_name", flat=True).first()


def unattributed_sources(*, scope=None, limit=10):
    """The largest sources of spend with no use case in the scope (by default AI spend of the last
    90 days), per field a rule can match: [(label, match_field, [{value, provider, currency, total,
    rows}])]."""
    base = (scope or Scope.default()).records()
    match = {"sub_account": "sub_account", "api_key": "api_key", "service_name": "service"}
    found = []
    for column, label in SOURCE_FIELDS:
        rows = (
            base.exclude(**{column: ""})
            .values(column, "provider_name", "currency")
            .annotate(total=Sum("effective_cost"), rows=Count("id"))
            .order_by("-total")[:limit]
        )
        found.append((label, match[column], [{**r, "value": r[column]} for r in rows]))
    return found


def shadow_ai(*, scope=None):
    """Spend that no registered use case owns, by team and the bill's provider (rollups)."""
    return list(
        (scope or Scope.default())
        .rollups()
        .values("team__name", "provider_name", "currency")
        .annotate(total=Sum("effective_cost"))
        .order_by("-total")
    )


# Tag keys are compared as the engine compares them: lower-cased, stray spaces removed. PostgreSQL
# expands a record's tags with jsonb_each_text; SQLite (`make run`) with json_each, which also names
# its columns key and value.
_EACH_TAG = {
    "postgresql": "CROSS JOIN LATERAL jsonb_each_text("
    "CASE WHEN jsonb_typeof(r.tags) = 'object' THEN r.tags ELSE '{}'::jsonb END) k",
    "sqlite": ", json_each(CASE WHEN json_type(r.tags) = 'object' THEN r.tags ELSE '{}' END) k",
}


def _trim(sql):
    """PostgreSQL's btrim is SQLite's trim."""
    return sql if connection.vendor == "postgresql" else sql.replace("btrim(", "trim(")


def _money(total):
    """A sum as Decimal at the ledger's precision: SQLite adds decimals as floating point."""
    if total is None:
        return Decimal("0")
    return total if isinstance(total, Decimal) else Decimal(str(total)).quantize(COST_STEP)


def _tag_sql(queryset, select, where="", group=""):
    sql, params = queryset.values("tags", "effective_cost", "currency").query.sql_with_params()
    each = _EACH_TAG["postgresql" if connection.vendor == "postgresql" else "sqlite"]
    # The fragments are this module's constants; every value is a parameter.
    query = _trim(
        f"SELECT {select} FROM ({sql}) r {each} "  # noqa: S608
        f"WHERE k.value IS NOT NULL {where} {group}"
    )
    return query, list(params)


def unattributed_tag_keys(*, scope=None, limit=12):
    """The tag keys that spend with no use case carries, most rows first: [{key, rows, values,
    totals: {currency: spend}}] ("711 rows carry business_unit")."""
    base = (scope or Scope.default()).records()
    sql, params = _tag_sql(
        base,
        "lower(btrim(k.key)) AS key, r.currency, count(*), count(DISTINCT btrim(k.value)), "
        "sum(r.effective_cost)",
        where="AND btrim(k.value) <> ''",
        group="GROUP BY 1, 2",
    )
    keys = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for key, currency, rows, values, total in cursor.fetchall():
            entry = keys.setdefault(key, {"key": key, "rows": 0, "values": 0, "totals": {}})
            entry["rows"] += rows
            entry["values"] = max(entry["values"], values)
            entry["totals"][currency] = _money(total)
    return sorted(keys.values(), key=lambda e: (-e["rows"], e["key"]))[:limit]


def unattributed_tag_values(*, key, scope=None, limit=200):
    """The values of one tag key on spend with no use case, most spend first: [{value, rows, totals}]."""
    base = (scope or Scope.default()).records()
    sql, params = _tag_sql(
        base,
        "btrim(k.value) AS value, r.currency, count(*), sum(r.effective_cost)",
        where="AND lower(btrim(k.key)) = %s AND btrim(k.value) <> ''",
        group="GROUP BY 1, 2",
    )
    values = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, key])
        for value, currency, rows, total in cursor.fetchall():
            entry = values.setdefault(value, {"value": value, "rows": 0, "totals": {}})
            entry["rows"] += rows
            entry["totals"][currency] = _money(total)
    ranked = sorted(values.values(), key=lambda e: (-sum(e["totals"].values()), e["value"]))
    return ranked[:limit]


def records_with_tag_key(key):
    """Every spend record whose tags carry `key` (any casing or stray spaces): the only records a
    rule on that key can change."""
    if connection.vendor == "postgresql":
        sql = (
            "jsonb_typeof(tags) = 'object' AND EXISTS (SELECT 1 FROM jsonb_object_keys(tags) t "
            "WHERE lower(btrim(t)) = %s)"
        )
    else:
        sql = (
            "json_type(tags) = 'object' AND EXISTS (SELECT 1 FROM json_each(tags) t "
            "WHERE lower(trim(t.key)) = %s)"
        )
    carries = RawSQL(  # noqa: S611 (the SQL is this module's constant; the key a parameter)
        sql,
        [key],
        output_field=BooleanField(),
    )
    return SpendRecord.objects.annotate(carries=carries).filter(carries=True)


def tag_mapping_preview(*, key, rules):
    """What the unsaved `rules` (tag rules on `key`, given negative ids) would attribute if saved:
    {rule id: {rows, totals: {currency: effective cost}}}, computed by the engine that
    re-attribution runs, over every record that carries the key, in one query."""
    attributor = Attributor()
    attributor.rules = sorted(
        [*attributor.rules, *rules], key=lambda r: (r.priority, r.pk if r.pk > 0 else 2**63 + -r.pk)
    )
    preview = {rule.pk: {"rows": 0, "totals": defaultdict(Decimal)} for rule in rules}
    marks = {f"rule:{rule.pk}": rule.pk for rule in rules}
    for record in records_with_tag_key(key).only(*PREVIEW_READ).iterator(chunk_size=2000):
        found = attributor.attribute(Facts.of(record))
        for mark in found.by:
            if mark in marks:
                entry = preview[marks[mark]]
                entry["rows"] += 1
                entry["totals"][record.currency] += record.effective_cost
    return {pk: {"rows": e["rows"], "totals": dict(e["totals"])} for pk, e in preview.items()}
