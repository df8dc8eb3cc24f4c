from celery import shared_task


@shared_task(name="showback.import_spend")
def import_spend(batch_id):
    """Run a queued spend import. Safe to run twice: a batch that is no longer queued is left alone."""
    from .services.imports import spend_import_run

    batch = spend_import_run(batch_id=batch_id)
    return {"status": batch.status, "imported": batch.rows_imported, "rejected": batch.rows_rejected}


@shared_task(name="showback.reattribute_spend")
def reattribute_spend(actor_id=None):
    """Re-apply the attribution rules to history. Safe to run twice: the second run changes nothing."""
    from django.contrib.auth import get_user_model

    from .services.attribution import spend_reattribute

    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    return spend_reattribute(actor=actor)
