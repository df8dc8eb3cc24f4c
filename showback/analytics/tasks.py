from celery import shared_task
from django.db import IntegrityError

from .services import anomalies_scan

# Imports arrive late: each run looks at the last three complete days again; what it stored before
# is skipped.
SCAN_DAYS = 3


@shared_task(
    name="showback.scan_anomalies", autoretry_for=(IntegrityError,), max_retries=2, default_retry_delay=30
)
def scan_anomalies(days=SCAN_DAYS):
    """Scan recent days for spend anomalies. Safe to run twice: the second run adds nothing (a run
    racing another one hits the unique constraint, rolls back, and is retried)."""
    return {"created": len(anomalies_scan(days=days))}


def scan_after_import(**kwargs):
    """Receives `showback.signals.spend_imported`: new spend may be an anomaly, so scan now, not at
    the next scheduled run."""
    scan_anomalies.delay()
