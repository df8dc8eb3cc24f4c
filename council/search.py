"""What the council offers to the search box: the agenda items the user may read
(`agenda_item_queryset`: every item for the council section, their own items for owners)."""

from django.urls import reverse

from aifinops.core.search import SearchSource

from .selectors import agenda_item_queryset


def agenda_item_source(*, user) -> SearchSource:
    return SearchSource(
        kind="agenda_item",
        label="Council items",
        queryset=agenda_item_queryset(user=user).select_related("use_case__team", "intake__team"),
        fields=("use_case__name", "intake__name", "use_case__key", "closed_note"),
        title=lambda item: item.title,
        context=lambda item: f"{item.meeting.council.name} · {item.meeting} · {item.get_status_display()}",
        url=lambda item: reverse("council:item_detail", args=[item.pk]),
    )
