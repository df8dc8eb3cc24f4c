import socket

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail

from .models import Notification


@shared_task(name="core.ping")
def ping():
    """A round trip through the broker and the database, used by the worker test and operators."""
    return {"pong": True, "host": socket.gethostname(), "users": get_user_model().objects.count()}


@shared_task(name="core.send_notification_emails")
def send_notification_emails(notification_ids):
    """Email the given notifications to their recipients. Safe to run twice: it only reads."""
    sent = 0
    for n in Notification.objects.filter(pk__in=notification_ids).select_related("recipient"):
        if not n.recipient.email:
            continue
        link = f"\n\n{settings.SITE_URL.rstrip('/')}{n.url}" if n.url else ""
        send_mail(n.subject, f"{n.body}{link}", None, [n.recipient.email], fail_silently=False)
        sent += 1
    return sent
