"""Usage events' rollups, built by the worker rather than in the request.

A batch of usage events marks the (use case, day) pairs it touched in UsageRollupDirty, in the
transaction that stores the events, and once committed queues one `showback.usage_rollups` task
(coalesced: while one is queued, later batches queue none). The task rebuilds the DailySpend rows
(and the monthly and customer rows built from them) of each marked pair from the SpendRecords,
and deletes the mark in the same transaction. A worker killed mid-rollup rolls that transaction
back and leaves the marks, which the next task, or the beat's run every 30 s, rebuilds: nothing
is lost, and rebuilding twice writes the same rows.
"""

import datetime
import logging
from collections import defaultdict

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from ..rollups import daily_spend_rebuild
from .models import UsageRollupDirty

logger = logging.getLogger(__name__)

# pg_advisory_xact_lock(class, id): one rollup of a use case at a time (not the request's lock:
# batches go on being stored while the worker rebuilds).
LOCK_ROLLUP = 734003
QUEUED_KEY = "gateway:usage-rollups:queued"
QUEUED_TTL_S = 120
DELAY_S = 1


def usage_rollups_mark(pairs) -> None:
    """Mark (use case id, day) pairs as behind their events, in the caller's transaction."""
    pairs = sorted(set(pairs))
    if not pairs:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Sorted, so two batches marking the same days take the rows in the same order.
            cursor.execute(
                "INSERT INTO showback_usagerollupdirty (use_case_id, day, version, marked_at) "
                "SELECT u, d, 1, now() FROM unnest(%s::bigint[], %s::date[]) AS t(u, d) "
                "ON CONFLICT (use_case_id, day) DO UPDATE "
                "SET version = showback_usagerollupdirty.version + 1, marked_at = EXCLUDED.marked_at",
                [[u for u, _ in pairs], [d for _, d in pairs]],
            )
        return
    for use_case_id, day in pairs:  # SQLite (make run): one writer at a time anyway
        mark, created = UsageRollupDirty.objects.get_or_create(use_case_id=use_case_id, day=day)
        if not created:
            mark.version += 1
            mark.marked_at = timezone.now()
            mark.save(update_fields=["version", "marked_at"])


def usage_rollups_enqueue() -> None:
    """Queue the rollup task unless one is queued already. Called once the batch has committed;
    should the broker or cache be unreachable, the beat's run catches up."""
    from .tasks import usage_rollups

    try:
        if cache.add(QUEUED_KEY, 1, timeout=QUEUED_TTL_S):
            usage_rollups.apply_async(countdown=DELAY_S)
    except Exception:  # the marks are committed: losing the nudge only delays the rollup
        logger.exception("gateway: could not queue the usage rollups; the beat will run them")


def _day_runs(days):
    """(first, last) of each run of consecutive days."""
    runs = []
    for day in sorted(days):
        if runs and day - runs[-1][1] == datetime.timedelta(days=1):
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [tuple(run) for run in runs]


@transaction.atomic
def _use_case_rollup(use_case_id: int) -> int:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_ROLLUP, use_case_id])
    marks = list(UsageRollupDirty.objects.filter(use_case_id=use_case_id).values_list("day", "version"))
    if not marks:
        return 0
    for start, end in _day_runs(day for day, _ in marks):
        daily_spend_rebuild(start=start, end=end, use_case_ids={use_case_id})
    # Only the marks this rebuild has seen: a batch that marked a day again meanwhile (a higher
    # version) is rebuilt by the next run.
    seen = Q()
    for day, version in marks:
        seen |= Q(day=day, version=version)
    UsageRollupDirty.objects.filter(Q(use_case_id=use_case_id) & seen).delete()
    return len(marks)


def usage_rollups_catch_up() -> dict:
    """Rebuild the rollups of every marked (use case, day), one transaction per use case."""
    try:
        cache.delete(QUEUED_KEY)  # batches from now on queue another run
    except Exception:
        logger.exception("gateway: could not clear the usage rollups' queued flag")
    use_case_ids = sorted(set(UsageRollupDirty.objects.values_list("use_case_id", flat=True)))
    days = defaultdict(int)
    for use_case_id in use_case_ids:
        days[use_case_id] = _use_case_rollup(use_case_id)
    return {"use_cases": len(use_case_ids), "days": sum(days.values())}


def usage_rollups_lag() -> datetime.timedelta | None:
    """How far behind the oldest mark is (None: caught up)."""
    oldest = UsageRollupDirty.objects.order_by("marked_at").values_list("marked_at", flat=True).first()
    return None if oldest is None else timezone.now() - oldest
