import re

from django.db.models import Q
from django.http import Http404

from aifinops.core import permissions
from portfolio.choices import ModelStatus
from portfolio.models import AIModel, UseCase

from .filters import IntakeFilter
from .models import IntakeRequest, IntakeStatus, TriageRule
from .triage import RuleSetting, default_rule_settings

SCOPES = ("mine", "team", "all")


def catalog_models_for_choice():
    return (
        AIModel.objects.filter(is_active=True)
        .exclude(status=ModelStatus.BLOCKED)
        .select_related("provider")
        .order_by("provider__name", "name")
    )


def intake_queryset(*, user):
    return IntakeRequest.objects.filter(permissions.intake_scope(user)).select_related(
        "team", "requester", "business_owner", "technical_owner", "use_case"
    )


def intake_list(*, user, scope="mine", filters=None):
    """Intakes for the list page. `scope` is mine (requested or owned by the user), team or all
    (all: cross-team roles only)."""
    qs = intake_queryset(user=user)
    if scope == "mine":
        qs = qs.filter(Q(requester=user) | Q(business_owner=user) | Q(technical_owner=user))
    elif scope == "team":
        qs = qs.filter(team_id__in=permissions.team_ids_of(user))
    return IntakeFilter(filters or None, queryset=qs.order_by("-created_at", "-id"), user=user)


def intake_get(*, user, pk):
    intake = intake_queryset(user=user).prefetch_related("ai_models__provider").filter(pk=pk).first()
    if intake is None:
        raise Http404("No such intake.")
    return intake


def intake_counts(*, user):
    qs = intake_queryset(user=user)
    return {
        "mine_open": qs.filter(requester=user, status__in=[IntakeStatus.DRAFT, IntakeStatus.TRIAGED]).count(),
    }


def triage_rule_settings():
    """The rules as tuned in the database; a rule missing there keeps its default."""
    settings = default_rule_settings()
    for rule in TriageRule.objects.all():
        settings[rule.code] = RuleSetting(tier=rule.tier, threshold=rule.threshold, enabled=rule.enabled)
    return settings


STOPWORDS = {
    "the",
    "and",
    "for",
    "with",
    "from",
    "that",
    "this",
    "into",
    "our",
    "their",
    "its",
    "are",
    "can",
    "use",
    "uses",
    "using",
    "will",
    "each",
    "all",
    "any",
    "per",
    "via",
    "who",
    "what",
    "when",
    "how",
}


def _words(text):
    return {w for w in re.findall(r"[a-z0-9]+", (text or "").lower()) if len(w) > 2 and w not in STOPWORDS}


def similar_use_cases(*, team, name, purpose, exclude_intake=None, limit=5, threshold=0.2):
    """Use cases and open intakes of `team` whose name or purpose shares many words with these.

    A team holds tens of use cases, so comparing word sets in Python is cheap and needs no index.
    """
    if team is None:
        return []
    wanted_name, wanted_all = _words(name), _words(f"{name} {purpose}")
    if not wanted_all:
        return []

    def score(other_name, other_purpose):
        other_name_words, other_all = _words(other_name), _words(f"{other_name} {other_purpose}")
        by_name = len(wanted_name & other_name_words) / max(len(wanted_name | other_name_words), 1)
        by_all = len(wanted_all & other_all) / max(len(wanted_all | other_all), 1)
        return max(by_name, by_all)

    found = []
    for uc in UseCase.objects.filter(team=team).only("key", "name", "purpose", "stage"):
        s = score(uc.name, uc.purpose)
        if s >= threshold:
            found.append(
                {"score": s, "name": uc.name, "url": uc.get_absolute_url(), "what": uc.get_stage_display()}
            )
    open_intakes = IntakeRequest.objects.filter(team=team).exclude(
        Q(status__in=[IntakeStatus.ACCEPTED, IntakeStatus.REJECTED, IntakeStatus.WITHDRAWN])
        | Q(pk=getattr(exclude_intake, "pk", None))
    )
    for intake in open_intakes.only("id", "name", "purpose", "status"):
        s = score(intake.name, intake.purpose)
        if s >= threshold:
            found.append(
                {
                    "score": s,
                    "name": intake.name,
                    "url": intake.get_absolute_url(),
                    "what": f"intake {intake.get_status_display().lower()}",
                }
            )
    return sorted(found, key=lambda f: -f["score"])[:limit]
