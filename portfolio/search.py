"""What portfolio offers to the search box: use cases, teams and the model catalog, each through
the selector or scope its own pages use, so a hit is always a record the user may open."""

from django.urls import reverse

from aifinops.core import permissions
from aifinops.core.search import SearchSource

from .models import AIModel, Team
from .selectors import use_case_queryset


def use_case_source(*, user) -> SearchSource:
    return SearchSource(
        kind="use_case",
        label="Use cases",
        queryset=use_case_queryset(user=user),
        fields=("name", "key", "purpose", "team__name"),
        title=lambda uc: uc.name,
        context=lambda uc: f"{uc.team.name} · {uc.get_stage_display()} · {uc.key}",
        url=lambda uc: uc.get_absolute_url(),
    )


def team_source(*, user) -> SearchSource:
    return SearchSource(
        kind="team",
        label="Teams",
        queryset=Team.objects.filter(permissions.team_scope(user)),
        fields=("name", "slug", "description", "cost_center"),
        title=lambda team: team.name,
        context=lambda team: f"{team.get_business_function_display()} · {team.cost_center}",
        url=lambda team: team.get_absolute_url(),
    )


def model_source(*, user) -> SearchSource:
    """The catalog is for everyone signed in (`ai_model_list`); it has no page per model, so a hit
    leads to the catalog."""
    catalog = reverse("portfolio:model_catalog")
    return SearchSource(
        kind="model",
        label="Models",
        queryset=AIModel.objects.select_related("provider")
        if getattr(user, "is_authenticated", False)
        else AIModel.objects.none(),
        fields=("name", "key", "provider__name"),
        title=lambda model: model.name,
        context=lambda model: f"{model.provider.name} · {model.ref} · {model.get_tier_display()}",
        url=lambda model: catalog,
    )
