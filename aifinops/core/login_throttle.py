"""Login throttling: django-axes' database handler, counting failures two ways.

Per (username, client address), a few failures lock that account from that address
(AXES_FAILURE_LIMIT). Per client address across usernames, more failures lock the address
whatever username it tries (LOGIN_ADDRESS_FAILURE_LIMIT): guessing a few passwords on each of
many accounts is then refused too. The per-address limit is higher, because a company's people
often reach the site through one NAT address; only failures count, and a successful log-in
clears the failures of its own username only, so that an attacker's own account cannot clear the
address. Both counts forget failures older than AXES_COOLOFF_TIME.

axes has one failure limit for all its lockout parameters; its maintainers suggest a handler of
one's own for a separate limit per address (jazzband/django-axes#661).
"""

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum


def address_failures(request):
    """The failures from the request's client address, whatever the username, within the cool-off."""
    address = getattr(request, "axes_ip_address", None)
    if not address:
        return 0
    attempts = AccessAttempt.objects.filter(ip_address=address)
    if settings.AXES_COOLOFF_TIME is not None:
        attempts = attempts.filter(attempt_time__gte=get_cool_off_threshold(request))
    return attempts.aggregate(failures=Sum("failures_since_start"))["failures"] or 0


class LoginThrottle(AxesDatabaseHandler):
    def get_failures(self, request, credentials=None) -> int:
        failures = super().get_failures(request, credentials)
        if address_failures(request) >= settings.LOGIN_ADDRESS_FAILURE_LIMIT:
            # axes compares one count with one limit: an address over its own limit is locked.
            return max(failures, get_failure_limit(request, credentials))
        return failures
