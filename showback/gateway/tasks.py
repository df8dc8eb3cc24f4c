from celery import shared_task


@shared_task(name="showback.gateway_flush")
def gateway_flush():
    """Write queued denials and last use of keys to the database. Safe to run twice, or at once in
    several workers."""
    from .services import gateway_flush

    return gateway_flush()


@shared_task(name="showback.gateway_caps_reconcile")
def gateway_caps_reconcile():
    """True up every live cap counter with the ledger (spend imported from bills included) and the
    open reservations, recording each correction. Safe to run twice, or at once in two workers."""
    from .caps import gateway_caps_reconcile

    return gateway_caps_reconcile()


@shared_task(name="showback.usage_rollups")
def usage_rollups():
    """Rebuild the rollups of the use-case days that usage events marked. Queued once per burst of
    batches and run by the beat every 30 s; safe to run twice, or at once in several workers."""
    from .rollups import usage_rollups_catch_up

    return usage_rollups_catch_up()


@shared_task(name="showback.unattributed_rollups")
def unattributed_rollups(first, last):
    """Rebuild the rollup rows of spend with no use case for the days first..last (ISO dates), after
    telemetry spans no use case claims were stored. Rebuilding twice writes the same rows."""
    import datetime

    from ..rollups import daily_spend_rebuild

    return daily_spend_rebuild(
        start=datetime.date.fromisoformat(first), end=datetime.date.fromisoformat(last), use_case_ids={None}
    )
