"""What intake offers to the search box: the intakes the user may see (`intake_queryset`)."""

from aifinops.core.search import SearchSource

from .selectors import intake_queryset


def intake_source(*, user) -> SearchSource:
    return SearchSource(
        kind="intake",
        label="Intakes",
        queryset=intake_queryset(user=user),
        fields=("name", "purpose", "team__name"),
        title=lambda intake: f"{intake.reference} {intake.name}",
        context=lambda intake: f"{intake.team.name} · {intake.get_status_display()}",
        url=lambda intake: intake.get_absolute_url(),
    )
