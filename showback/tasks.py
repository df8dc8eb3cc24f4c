from celery import shared_task

from .analytics.tasks import scan_anomalies  # noqa: F401  (Celery discovers showback.tasks only)


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


@shared_task(name="showback.evaluate_budgets")
def evaluate_budgets(budget_ids=None):
    """Check budgets against spend (all active ones, or `budget_ids`). Safe to run twice: each alert
    fires once per threshold and period."""
    from .services.budgets import budgets_evaluate

    return {"alerts": len(budgets_evaluate(budget_ids=budget_ids))}


# Backoff between attempts, in seconds: 30 s, 1 min, 2 min, 4 min, 8 min.
WEBHOOK_MAX_RETRIES = 5


@shared_task(bind=True, name="showback.deliver_webhook", max_retries=WEBHOOK_MAX_RETRIES)
def deliver_webhook(self, delivery_id):
    """POST a team webhook delivery, retrying with exponential backoff; the last failure is logged
    on the delivery. Safe to run twice: a delivered delivery is not sent again."""
    from .services.budgets import webhook_delivery_attempt

    final = self.request.retries >= self.max_retries
    outcome = webhook_delivery_attempt(delivery_id=delivery_id, final=final)
    if outcome != "retry":
        return outcome
    if self.request.is_eager:
        # In-process (no broker, tests and `make run`): eager mode propagates Celery's Retry as an
        # error, so try again at once, counting the attempt.
        return self.apply(args=[delivery_id], retries=self.request.retries + 1).result
    raise self.retry(countdown=30 * 2**self.request.retries)
