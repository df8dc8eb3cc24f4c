from django.db.models import Case, Count, IntegerField, Prefetch, Q, Value, When
from django.http import Http404

from aifinops.core import permissions

from .choices import ModelTier
from .filters import TeamFilter, UseCaseFilter
from .models import AIModel, Membership, Team, UseCase


def team_list(*, user, filters=None):
    qs = Team.objects.filter(permissions.team_scope(user)).annotate(
        member_count=Count("memberships", distinct=True),
        use_case_count=Count("use_cases", distinct=True),
    )
    return TeamFilter(filters or {}, queryset=qs).qs.order_by("name")


def team_get(*, user, slug):
    team = (
        Team.objects.prefetch_related(
            Prefetch(
                "memberships", queryset=Membership.objects.select_related("user").order_by("user__username")
            )
        )
        .filter(slug=slug)
        .first()
    )
    if team is None or not permissions.can_view_team(user, team):
        # Another team's page is as absent as a missing one: no existence leak.
        raise Http404("No such team.")
    return team


def use_case_queryset(*, user):
    return UseCase.objects.filter(permissions.use_case_scope(user)).select_related(
        "team", "business_owner", "technical_owner"
    )


def use_case_list(*, user, filters=None):
    return UseCaseFilter(filters or {}, queryset=use_case_queryset(user=user)).qs.order_by("name")


def use_case_filterset(*, user, filters=None):
    filterset = UseCaseFilter(filters or None, queryset=use_case_queryset(user=user))
    # The team dropdown offers only the teams this user may see.
    filterset.form.fields["team"].queryset = Team.objects.filter(permissions.team_scope(user)).order_by(
        "name"
    )
    return filterset


def use_case_get(*, user, key):
    use_case = use_case_queryset(user=user).prefetch_related("ai_models__provider").filter(key=key).first()
    if use_case is None:
        raise Http404("No such use case.")
    return use_case


def stage_counts(*, user):
    rows = use_case_queryset(user=user).order_by().values("stage").annotate(n=Count("id"))
    return {r["stage"]: r["n"] for r in rows}


def use_cases_owned(*, user, limit=20):
    return list(
        UseCase.objects.filter(Q(business_owner=user) | Q(technical_owner=user))
        .select_related("team")
        .order_by("name")[:limit]
    )


def ai_model_list():
    """The whole model catalog, for everyone signed in: by provider, then tier from small up, then name."""
    tier_order = Case(
        *(When(tier=tier, then=Value(rank)) for rank, tier in enumerate(ModelTier.values)),
        default=Value(len(ModelTier.values)),
        output_field=IntegerField(),
    )
    return list(
        AIModel.objects.select_related("provider")
        .annotate(tier_order=tier_order)
        .order_by("provider__name", "tier_order", "name")
    )
