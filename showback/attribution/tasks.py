from celery import shared_task
from django.contrib.auth import get_user_model

from .services import spend_reattribute


@shared_task(name="showback.reattribute_spend")
def reattribute_spend(actor_id=None):
    """Re-apply the attribution rules to history. Safe to run twice: the second run changes nothing."""
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    return spend_reattribute(actor=actor)
