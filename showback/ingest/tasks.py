from celery import shared_task

from .services import spend_import_run, spend_import_sweep


@shared_task(name="showback.import_spend")
def import_spend(batch_id):
    """Run a queued spend import. Safe to run twice: a batch that is no longer queued is left alone."""
    batch = spend_import_run(batch_id=batch_id)
    return {"status": batch.status, "imported": batch.rows_imported, "rejected": batch.rows_rejected}


@shared_task(name="showback.import_sweep")
def import_sweep():
    """Fail the imports whose worker stopped (beat, every minute)."""
    return {"failed": spend_import_sweep()}
