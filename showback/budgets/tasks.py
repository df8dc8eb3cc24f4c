from celery import shared_task

from .services import budgets_evaluate, webhook_delivery_attempt


@shared_task(name="showback.evaluate_budgets")
def evaluate_budgets(budget_ids=None):
    """Check budgets against spend (all active ones, or `budget_ids`). Safe to run twice: each alert
    fires once per threshold and period."""
    return {"alerts": len(budgets_evaluate(budget_ids=budget_ids))}


# Backoff between attempts, in seconds: 30 s, 1 min, 2 min, 4 min, 8 min.
WEBHOOK_MAX_RETRIES = 5


@shared_task(bind=True, name="showback.deliver_webhook", max_retries=WEBHOOK_MAX_RETRIES)
def deliver_webhook(self, delivery_id):
    """POST a team webhook delivery, retrying with exponential backoff; the last failure is logged
    on the delivery. Safe to run twice: a delivered delivery is not sent again."""
    final = self.request.retries >= self.max_retries
    outcome = webhook_delivery_attempt(delivery_id=delivery_id, final=final)
    if outcome != "retry":
        return outcome
    if self.request.is_eager:
        # In-process (no broker, tests and `make run`): eager mode propagates Celery's Retry as an
        # error, so try again at once, counting the attempt.
        return self.apply(args=[delivery_id], retries=self.request.retries + 1).result
    raise self.retry(countdown=30 * 2**self.request.retries)


def evaluate_after_import(**kwargs):
    """Receives `showback.signals.spend_imported`: new spend may cross a budget's threshold, so
    check now, not at the next scheduled run."""
    evaluate_budgets.delay()
