import socket

from celery import shared_task
from django.contrib.auth import get_user_model


@shared_task(name="core.ping")
def ping():
    """A round trip through the broker and the database, used by the worker test and operators."""
    return {"pong": True, "host": socket.gethostname(), "users": get_user_model().objects.count()}
