"""Telling people what happened: an in-app notification and an email, sent after commit."""

from django.db import transaction
from django.utils import timezone

from .models import Notification


def notify(*, recipients, subject, body="", url=""):
    """Notify each distinct, active recipient. Call inside the service's transaction."""
    from .tasks import send_notification_emails

    people = {r.pk: r for r in recipients if r is not None and r.is_active}
    notifications = Notification.objects.bulk_create(
        [Notification(recipient=r, subject=subject[:200], body=body, url=url) for r in people.values()]
    )
    ids = [n.pk for n in notifications]
    if ids:
        transaction.on_commit(lambda: send_notification_emails.delay(ids))
    return notifications


def notifications_mark_read(*, user):
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())
