"""Reads of anomalies, scoped to the use cases the user may see."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.shortcuts import get_object_or_404

from aifinops.core import periods, permissions

from ... import selectors as spend
from ...models import Anomaly, AnomalyKind, AnomalyStatus, DailySpend, Severity
from .. import anomalies, drift
from ..filters import AnomalyFilter

ZERO = Decimal("0")
UNRESOLVED = (AnomalyStatus.OPEN, AnomalyStatus.ACKNOWLEDGED)


def anomaly_queryset(*, user):
    return Anomaly.objects.filter(permissions.anomaly_scope(user)).select_related(
        "use_case__team", "model", "acknowledged_by"
    )


def anomaly_filterset(*, user, filters=None):
    return AnomalyFilter(
        filters or None, queryset=anomaly_queryset(user=user).order_by("-date", "-id"), user=user
    )


def anomaly_get(*, user, pk):
    return get_object_or_404(anomaly_queryset(user=user), pk=pk)


def anomaly_counts(*, user):
    """{(status, severity): n} of the anomalies the user may see."""
    rows = (
        Anomaly.objects.filter(permissions.anomaly_scope(user))
        .order_by()
        .values("status", "severity")
        .annotate(n=Count("id"))
    )
    return {(r["status"], r["severity"]): r["n"] for r in rows}


def open_high_severity_anomalies(use_case=None):
    """High-severity anomalies nobody has explained or resolved yet (open or only acknowledged),
    newest first: what the council's escalations read. A queryset, to count or filter further."""
    qs = Anomaly.objects.filter(severity=Severity.HIGH, status__in=UNRESOLVED)
    if use_case is not None:
        qs = qs.filter(use_case=use_case)
    return qs.select_related("use_case", "model").order_by("-date", "-id")


@dataclass
class AnomalySeries:
    """The days around an anomaly, for its chart: the actual spend (or the drift's daily metric)
    and what was expected of each day."""

    days: list
    actual: list
    expected: list
    unit: str


def anomaly_series(*, anomaly, before=42, after=14):
    """One query: the use case's (or model's) daily AI spend in the anomaly's currency."""
    today = periods.today()
    start = anomaly.date - datetime.timedelta(days=before)
    end = min(anomaly.date + datetime.timedelta(days=after), today - datetime.timedelta(days=1))
    qs = DailySpend.objects.filter(
        use_case_id=anomaly.use_case_id,
        currency=anomaly.currency,
        is_ai=True,
        date__gte=start - datetime.timedelta(days=anomalies.BASELINE_DAYS),
        date__lte=end,
    )
    if anomaly.model_id is not None:
        qs = qs.filter(model_id=anomaly.model_id)
    rows = (
        qs.order_by()
        .values("date")
        .annotate(
            cost=Sum("effective_cost"),
            premium=Sum("effective_cost", filter=Q(model_tier__in=spend.PREMIUM_TIERS)),
            n_requests=Sum("requests"),
            tokens_in=Sum("input_tokens"),
            tokens_cached=Sum("cached_tokens"),
            tokens_out=Sum("output_tokens"),
        )
    )
    days = [start + datetime.timedelta(days=i) for i in range((end - start).days + 1)]
    if anomaly.kind == AnomalyKind.SPIKE:
        series = {r["date"]: r["cost"] or ZERO for r in rows}
        first = min(series, default=start)
        expected = [anomalies.expected_on(series, d, first) for d in days]
        return AnomalySeries(days, [series.get(d, ZERO) for d in days], expected, "money")
    usage = {
        r["date"]: drift.Usage(
            cost=r["cost"] or ZERO,
            premium_cost=r["premium"] or ZERO,
            requests=r["n_requests"] or 0,
            input_tokens=r["tokens_in"] or 0,
            cached_tokens=r["tokens_cached"] or 0,
            output_tokens=r["tokens_out"] or 0,
        )
        for r in rows
    }
    recent = (anomaly.detail or {}).get("recent") or [anomaly.date.isoformat()] * 2
    baseline = (anomaly.detail or {}).get("baseline") or [anomaly.date.isoformat()] * 2
    actual, expected = [], []
    for d in days:
        u = usage.get(d)
        actual.append(drift.metric(anomaly.kind, u) if u else None)
        iso = d.isoformat()
        if baseline[0] <= iso <= baseline[1]:
            expected.append(anomaly.expected)
        elif recent[0] <= iso <= recent[1]:
            expected.append(anomaly.actual)
        else:
            expected.append(None)
    return AnomalySeries(days, actual, expected, drift.UNITS.get(anomaly.kind, "ratio"))
