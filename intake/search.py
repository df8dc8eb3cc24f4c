"""What intake offers to the search box: the intakes the user may see (`intake_queryset`)."""

import re

from django.db.models import Q

from aifinops.core.search import SearchSource

from .selectors import intake_queryset

_REFERENCE = re.compile(r"\s*INT-?0*(\d{1,9})\s*", re.IGNORECASE)


def _by_reference(q) -> Q | None:
    """The intake a reference names (INT-0042, as its pages show it)."""
    found = _REFERENCE.fullmatch(q)
    return Q(pk=int(found.group(1))) if found else None


def intake_source(*, user) -> SearchSource:
    return SearchSource(
        kind="intake",
        label="Intakes",
        queryset=intake_queryset(user=user),
        fields=("name", "purpose", "team__name"),
        title=lambda intake: f"{intake.reference} {intake.name}",
        context=lambda intake: f"{intake.team.name} · {intake.get_status_display()}",
        url=lambda intake: intake.get_absolute_url(),
        also=_by_reference,
    )
