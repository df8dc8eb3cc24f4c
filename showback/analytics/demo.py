"""Demo anomalies: the scan run over the demo's year of spend, and a few of them triaged.

The spend demo (showback.demo) injects one-day spikes into four use cases; the scan finds them on
those days. Month-end close jobs (expense-policy-checker, month-end-variance-commentary) repeat
every month and are rightly not flagged. The oldest spikes are explained or resolved by their
owners, as a team that has lived with the product for a while would have done; the newest stays
open and high, for the council. A second run finds everything in place and writes nothing.
"""

from aifinops.core.demo import demo_user

from ..models import Anomaly, AnomalyKind, AnomalyStatus
from .services import anomalies_scan, anomaly_acknowledge, anomaly_explain, anomaly_resolve

# The demo's spend covers 365 days; the first 14 are too young for a baseline.
DEMO_SCAN_DAYS = 365
# use case key: (service, note). The largest open spike of each use case gets its note.
TRIAGE = {
    "code-review-assistant": (
        anomaly_explain,
        "Monorepo migration: every open pull request was re-reviewed once. Planned, one-off.",
    ),
    "campaign-copy-generator": (
        anomaly_resolve,
        "Black-week campaign generated 40 variants per segment; the variant cap is back to 8.",
    ),
    "support-call-summarizer": (
        anomaly_acknowledge,
        "Looking into it: the call recorder re-sent a day of transcripts.",
    ),
}
# Month-end close jobs: their first bursts are flagged until two months show the pattern; each of
# those days is explained.
MONTH_END = {
    "expense-policy-checker": "Month-end close: every expense report filed in the last days is checked.",
    "month-end-variance-commentary": "Month-end close: variance commentary is drafted for every cost center.",
}


def seed(*, stdout):
    created = anomalies_scan(days=DEMO_SCAN_DAYS)
    open_spikes = Anomaly.objects.filter(
        use_case__key__in=[*TRIAGE, *MONTH_END],
        kind=AnomalyKind.SPIKE,
        model__isnull=True,
        status=AnomalyStatus.OPEN,
    ).select_related("use_case__technical_owner", "use_case__business_owner")
    biggest, month_end = {}, []
    for anomaly in open_spikes:
        key = anomaly.use_case.key
        if key in MONTH_END:
            month_end.append(anomaly)
        elif key not in biggest or _excess(anomaly) > _excess(biggest[key]):
            biggest[key] = anomaly
    for key, anomaly in biggest.items():
        service, note = TRIAGE[key]
        service(anomaly=anomaly, actor=_owner(anomaly), note=note)
    for anomaly in month_end:
        anomaly_explain(anomaly=anomaly, actor=_owner(anomaly), note=MONTH_END[anomaly.use_case.key])
    stdout.write(f"  anomalies: {len(created)} found by the scan, {len(biggest) + len(month_end)} triaged")


def _excess(anomaly):
    return anomaly.actual - anomaly.expected


def _owner(anomaly):
    use_case = anomaly.use_case
    return use_case.technical_owner or use_case.business_owner or demo_user("finance")
