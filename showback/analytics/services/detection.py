"""Writes of detection: the anomaly scan that stores what it finds, and triage by the people
responsible (acknowledge, explain, resolve).

Each triage service checks permission, validates, saves and writes its audit event in one
transaction. `anomalies_scan` runs without a person: the scheduled task and the demo call it.
"""

import datetime
from collections import defaultdict
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.urls import reverse
from django.utils import timezone

from aifinops.core import permissions
from aifinops.core.audit import audit_record, snapshot
from aifinops.core.notifications import notify
from aifinops.core.templatetags.afo import money
from portfolio.models import UseCase

from ...models import Anomaly, AnomalyKind, AnomalyStatus, DailySpend, Severity
from .. import anomalies, drift

PREMIUM_TIERS = ("frontier", "reasoning")
# History a scanned day needs: the 28-day window, and two months back for the monthly pattern.
LOOKBACK_DAYS = 2 * 31 + anomalies.BASELINE_DAYS
# A drift persists for days; it is raised again only once this many days have passed.
DRIFT_QUIET_DAYS = drift.RECENT_DAYS
# Owners hear of high-severity anomalies on recent days, not of old ones a backfill finds.
NOTIFY_WITHIN_DAYS = 3
MAX_SCAN_DAYS = 400
Q6 = Decimal("0.000001")
SEVERITY_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2}


def _yesterday():
    return timezone.now().date() - datetime.timedelta(days=1)


def _daily_rows(start, end):
    """AI spend per day, use case, model and currency, with what drift needs, start..end."""
    return (
        DailySpend.objects.filter(is_ai=True, use_case__isnull=False, date__gte=start, date__lte=end)
        .order_by()
        .values("date", "use_case_id", "model_id", "currency")
        .annotate(
            cost=Sum("effective_cost"),
            premium=Sum("effective_cost", filter=Q(model_tier__in=PREMIUM_TIERS)),
            n_requests=Sum("requests"),
            tokens_in=Sum("input_tokens"),
            tokens_cached=Sum("cached_tokens"),
            tokens_out=Sum("output_tokens"),
        )
    )


def _findings(rows, *, start, end, thresholds):
    """Spikes per use case and per model of a use case with several models, and drift per use
    case: {(kind, use_case_id, model_id, date): (severity, expected, actual, currency, detail, score)}."""
    cost = defaultdict(lambda: defaultdict(Decimal))
    usage = defaultdict(dict)
    models_of = defaultdict(set)
    for r in rows:
        amount = r["cost"] or Decimal("0")
        day = r["date"]
        cost[(r["use_case_id"], None, r["currency"])][day] += amount
        cost[(r["use_case_id"], r["model_id"], r["currency"])][day] += amount
        models_of[r["use_case_id"]].add(r["model_id"])
        key = (r["use_case_id"], r["currency"])
        usage[key][day] = usage[key].get(day, drift.Usage()) + drift.Usage(
            cost=amount,
            premium_cost=r["premium"] or Decimal("0"),
            requests=r["n_requests"] or 0,
            input_tokens=r["tokens_in"] or 0,
            cached_tokens=r["tokens_cached"] or 0,
            output_tokens=r["tokens_out"] or 0,
        )
    found = {}

    def keep(key, value):
        # Two currencies of one use case may flag the same day: the stronger finding stands.
        if key not in found or (SEVERITY_RANK[value[0]], value[5]) > (
            SEVERITY_RANK[found[key][0]],
            found[key][5],
        ):
            found[key] = value

    for (use_case_id, model_id, currency), series in cost.items():
        if model_id is not None and len(models_of[use_case_id]) < 2:
            continue  # one model: its spikes are the use case's
        spikes = anomalies.spike_scan(series, start=start, end=end, min_rise_pct=thresholds.get(use_case_id))
        for s in spikes:
            keep(
                (AnomalyKind.SPIKE, use_case_id, model_id, s.date),
                (s.severity, s.expected, s.actual, currency, s.detail(), s.score),
            )
    for (use_case_id, currency), days in usage.items():
        first = min(days)
        day = start
        while day <= end:
            for d in drift.drift_signals(days, day=day, first=first):
                keep(
                    (d.kind, use_case_id, None, d.date),
                    (d.severity, d.baseline, d.recent, currency, d.detail, abs(d.change)),
                )
            day += datetime.timedelta(days=1)
    return found


def _quiet(found, existing):
    """Drop findings already stored, and drift already raised in the last DRIFT_QUIET_DAYS days."""
    drift_days = defaultdict(list)
    for kind, use_case_id, model_id, day in existing:
        if kind != AnomalyKind.SPIKE:
            drift_days[(kind, use_case_id, model_id)].append(day)
    kept = {}
    for key in sorted(found, key=lambda k: k[3]):
        kind, use_case_id, model_id, day = key
        if key in existing:
            continue
        if kind != AnomalyKind.SPIKE:
            earlier = drift_days[(kind, use_case_id, model_id)]
            if any(0 <= (day - d).days < DRIFT_QUIET_DAYS for d in earlier):
                continue
            earlier.append(day)
        kept[key] = found[key]
    return kept


@transaction.atomic
def anomalies_scan(*, day=None, days=1, actor=None):
    """Look for spikes and drift on the `days` days ending on `day` (yesterday by default, the last
    complete day) and store what is new, with one audit row for what the run added. Safe to run
    again: stored findings are skipped, so a second run adds nothing and writes nothing.
    Reads a constant number of queries, however many use cases.

    Returns the anomalies created.
    """
    day = day or _yesterday()
    if not 1 <= days <= MAX_SCAN_DAYS:
        raise ValidationError({"days": f"Scan between 1 and {MAX_SCAN_DAYS} days."})
    start = day - datetime.timedelta(days=days - 1)
    rows = list(_daily_rows(start - datetime.timedelta(days=LOOKBACK_DAYS), day))
    use_case_ids = {r["use_case_id"] for r in rows}
    use_cases = {uc.pk: uc for uc in UseCase.objects.filter(pk__in=use_case_ids).select_related("team")}
    thresholds = {pk: uc.anomaly_threshold_pct for pk, uc in use_cases.items() if uc.anomaly_threshold_pct}
    found = _findings(rows, start=start, end=day, thresholds=thresholds)
    existing = set(
        Anomaly.objects.filter(
            date__gte=start - datetime.timedelta(days=DRIFT_QUIET_DAYS), date__lte=day
        ).values_list("kind", "use_case_id", "model_id", "date")
    )
    new = _quiet(found, existing)
    rows = []
    for (kind, use_case_id, model_id, d), finding in new.items():
        severity, expected, actual, currency, detail, _score = finding
        rows.append(
            Anomaly(
                date=d,
                use_case_id=use_case_id,
                model_id=model_id,
                kind=kind,
                severity=severity,
                expected=expected.quantize(Q6),
                actual=actual.quantize(Q6),
                currency=currency,
                detail=detail,
            )
        )
    created = Anomaly.objects.bulk_create(rows)
    if created:
        audit_record(
            actor=actor,
            action="anomaly.scan",
            object_type="showback.anomaly",
            object_id=f"{start.isoformat()}..{day.isoformat()}",
            after={
                "start": start.isoformat(),
                "end": day.isoformat(),
                "created": len(created),
                "anomalies": [
                    {
                        "kind": a.kind,
                        "use_case": a.use_case_id,
                        "model": a.model_id,
                        "date": a.date.isoformat(),
                    }
                    for a in created[:500]
                ],
            },
        )
    _announce(created, use_cases, since=day - datetime.timedelta(days=NOTIFY_WITHIN_DAYS - 1))
    return created


def _announce(created, use_cases, *, since):
    """Tell the owners of each use case about its new high-severity anomalies on recent days."""
    by_use_case = defaultdict(list)
    for a in created:
        if a.severity == Severity.HIGH and a.date >= since:
            by_use_case[a.use_case_id].append(a)
    if not by_use_case:
        return
    owner_ids = {
        pk
        for uc_id in by_use_case
        for pk in (use_cases[uc_id].business_owner_id, use_cases[uc_id].technical_owner_id)
        if pk
    }
    people = {u.pk: u for u in get_user_model().objects.filter(pk__in=owner_ids)}
    for uc_id, found in by_use_case.items():
        use_case = use_cases[uc_id]
        recipients = [people.get(use_case.business_owner_id), people.get(use_case.technical_owner_id)]
        first = found[0]
        what = ", ".join(f"{a.get_kind_display().lower()} on {a.date:%d %b}" for a in found[:3])
        notify(
            recipients=recipients,
            subject=f"High-severity spend anomaly in {use_case.name}"[:200],
            body=(
                f"{what}. "
                + (
                    f"Spent {money(first.actual, first.currency)} against "
                    f"{money(first.expected, first.currency)} expected. "
                    if first.kind == AnomalyKind.SPIKE
                    else ""
                )
                + "Acknowledge it, or explain it, on the anomaly page."
            ),
            url=reverse("analytics:anomaly_detail", args=[first.pk]),
        )


def _locked(anomaly, actor):
    anomaly = Anomaly.objects.select_for_update().select_related("use_case").get(pk=anomaly.pk)
    permissions.require(actor, permissions.TRIAGE_ANOMALY, anomaly)
    return anomaly


TRIAGE_FIELDS = ("status", "note", "acknowledged_by", "acknowledged_at")


def _save(anomaly, actor, action, before):
    anomaly.save(update_fields=[*TRIAGE_FIELDS, "updated_at"])
    audit_record(
        actor=actor, action=action, obj=anomaly, before=before, after=snapshot(anomaly, TRIAGE_FIELDS)
    )
    return anomaly


def _note(note, *, limit=2000):
    note = (note or "").strip()
    if len(note) > limit:
        raise ValidationError({"note": f"Keep the note under {limit} characters."})
    return note


def _mark_seen(anomaly, actor):
    if anomaly.acknowledged_by_id is None:
        anomaly.acknowledged_by = actor
        anomaly.acknowledged_at = timezone.now()


@transaction.atomic
def anomaly_acknowledge(*, anomaly, actor, note=""):
    """Someone responsible has seen it and is looking."""
    anomaly = _locked(anomaly, actor)
    note = _note(note)
    if anomaly.status != AnomalyStatus.OPEN:
        raise ValidationError(
            {"status": f"The anomaly is already {anomaly.get_status_display().lower()}; reload the page."}
        )
    before = snapshot(anomaly, TRIAGE_FIELDS)
    anomaly.status = AnomalyStatus.ACKNOWLEDGED
    _mark_seen(anomaly, actor)
    if note:
        anomaly.note = note
    return _save(anomaly, actor, "anomaly.acknowledge", before)


@transaction.atomic
def anomaly_explain(*, anomaly, actor, note):
    """Say why it happened (a backfill, a launch, a bug): the explanation is what reviewers read."""
    anomaly = _locked(anomaly, actor)
    note = _note(note)
    if not note:
        raise ValidationError(
            {"note": "Say what explains the anomaly, e.g. “a planned re-index of the archive”."}
        )
    if anomaly.status == AnomalyStatus.RESOLVED:
        raise ValidationError({"status": "The anomaly is resolved; it can no longer be explained."})
    before = snapshot(anomaly, TRIAGE_FIELDS)
    anomaly.status = AnomalyStatus.EXPLAINED
    _mark_seen(anomaly, actor)
    anomaly.note = note
    return _save(anomaly, actor, "anomaly.explain", before)


@transaction.atomic
def anomaly_resolve(*, anomaly, actor, note=""):
    """The cause is gone or accepted; the anomaly leaves the open list and the council's view."""
    anomaly = _locked(anomaly, actor)
    note = _note(note)
    if anomaly.status == AnomalyStatus.RESOLVED:
        raise ValidationError({"status": "The anomaly is already resolved."})
    before = snapshot(anomaly, TRIAGE_FIELDS)
    anomaly.status = AnomalyStatus.RESOLVED
    _mark_seen(anomaly, actor)
    if note:
        anomaly.note = note
    return _save(anomaly, actor, "anomaly.resolve", before)
