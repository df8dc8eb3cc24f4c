from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db.models import (
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.http import Http404

from aifinops.core import periods, permissions
from aifinops.core.models import AuditEvent

from . import spend
from .choices import (
    ModelTier,
    MoveRequestStatus,
    OptimizationStatus,
    PriceKind,
    PriceTier,
    Stage,
    in_choice_order,
)
from .filters import ACTUAL_SPEND_SORTS, TeamFilter, UseCaseFilter
from .gates import rules as gates
from .models import (
    AIModel,
    CostLine,
    GateItemState,
    Membership,
    Milestone,
    OptimizationItem,
    PriceBookEntry,
    Team,
    UseCase,
    ValueSignal,
)
from .tags import tag_keys_for_use_cases, tag_problems


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


def actual_spend_sort(filterset):
    """(period, descending) when the list is sorted by actual spend, else None."""
    if not filterset.is_valid():
        return None
    for param in filterset.form.cleaned_data.get("sort") or []:
        period = ACTUAL_SPEND_SORTS.get(param.lstrip("-"))
        if period:
            return period, param.startswith("-")
        return None
    return None


def use_case_ids_by_actual_spend(qs, *, sort):
    """([use case id], totals): the filtered use cases sorted by actual spend, `sort` being
    `actual_spend_sort`'s (period, descending); totals are `spend.use_case_spend_totals`' for them all.

    Each use case counts the amount in its own currency (the one its expected cost is in; spend in
    another currency is not converted), largest last unless descending, then by name."""
    period, descending = sort
    rows = list(qs.order_by("name").values_list("pk", "currency"))
    totals = spend.use_case_spend_totals(use_case_ids=[pk for pk, _ in rows])
    zero = Decimal("0")
    rows.sort(key=lambda row: totals[row[0]][period].get(row[1], zero), reverse=descending)
    return [pk for pk, _ in rows], totals


def use_case_page(*, user, filters=None, page_number=None, per_page=25):
    """(filterset, page) of the portfolio list: each use case of the page carries `actual`, its spend
    this month and last month per currency, as the use case page shows it (`spend.use_case_spend_totals`).

    Sorted by actual spend, the whole filtered list is sorted by the amount in each use case's own
    currency (the one its expected cost is in; spend in another currency shows but is not
    converted), largest last unless descending, then by name. A constant number of queries."""
    filterset = use_case_filterset(user=user, filters=filters)
    qs = filterset.qs
    sort = actual_spend_sort(filterset)
    if sort is None:
        qs = qs if (filters or {}).get("sort") else qs.order_by("name")
        page = Paginator(qs, per_page).get_page(page_number)
        page.object_list = list(page.object_list)
        totals = spend.use_case_spend_totals(use_case_ids=[uc.pk for uc in page.object_list])
    else:
        pks, totals = use_case_ids_by_actual_spend(qs, sort=sort)
        page = Paginator(pks, per_page).get_page(page_number)
        found = use_case_queryset(user=user).in_bulk(page.object_list)
        page.object_list = [found[pk] for pk in page.object_list]
    for use_case in page.object_list:
        use_case.actual = totals[use_case.pk]
    return filterset, page


def use_case_get(*, user, key):
    use_case = use_case_queryset(user=user).prefetch_related("ai_models__provider").filter(key=key).first()
    if use_case is None:
        raise Http404("No such use case.")
    return use_case


def stage_counts(*, user):
    rows = use_case_queryset(user=user).order_by().values("stage").annotate(n=Count("id"))
    return {r["stage"]: r["n"] for r in rows}


def ai_model_list():
    """The whole model catalog, for everyone signed in: by provider, then tier from small up, then name;
    each model with its negotiated prices in force today (`negotiated_*`, None where it has none)."""
    # The standard negotiated price in force today at any volume, as `price_in_force` picks it
    # (negotiated before list, then the latest date): the list shows it beside the list price.
    negotiated = PriceBookEntry.objects.filter(
        model=OuterRef("pk"),
        kind=PriceKind.NEGOTIATED,
        tier=PriceTier.STANDARD,
        effective_from__lte=periods.today(),
        volume_threshold=0,
    ).order_by("-effective_from")
    return list(
        AIModel.objects.select_related("provider")
        .annotate(
            tier_order=in_choice_order("tier", ModelTier),
            **{
                f"negotiated_{field}": Subquery(negotiated.values(field)[:1])
                for field in (
                    "input_price_per_mtok",
                    "output_price_per_mtok",
                    "cache_read_price_per_mtok",
                    "currency",
                )
            },
        )
        .order_by("provider__name", "tier_order", "name")
    )


def ai_model_get(*, pk):
    """One model of the catalog, for everyone signed in (the catalog is no secret)."""
    model = AIModel.objects.select_related("provider").filter(pk=pk).first()
    if model is None:
        raise Http404("No such model in the catalog.")
    return model


def model_price_list(*, model):
    """The model's price book, newest first: its price history; on one day list before negotiated,
    then the service tiers in their choices' order (standard, batch, priority, flex)."""
    return list(
        PriceBookEntry.objects.filter(model=model)
        .select_related("created_by")
        .order_by(
            "-effective_from",
            in_choice_order("kind", PriceKind),
            in_choice_order("tier", PriceTier),
            "volume_threshold",
            "-id",
        )
    )


def model_recosting_list(*, model, limit=20):
    """The re-costings that the model's price changes (and imports that carried a month across a
    volume tier) made, newest first, as audited."""
    return list(
        AuditEvent.objects.for_object(model)
        .filter(action="ai_model.recost")
        .select_related("actor")
        .order_by("-created_at", "-id")[:limit]
    )


def price_in_force(model, on_date, *, tier=PriceTier.STANDARD, monthly_volume=0):
    """The price book's row in force for a model on a day, in one query (two for a tier with no
    price of its own): negotiated before list, then the latest date, then the highest volume tier
    the month reached. Costing uses the same rule on loaded rows (`portfolio.pricing.price_pick`)."""

    def in_force(of_tier):
        return (
            PriceBookEntry.objects.filter(
                model=model, tier=of_tier, effective_from__lte=on_date, volume_threshold__lte=monthly_volume
            )
            .annotate(negotiated=Case(When(kind=PriceKind.NEGOTIATED, then=Value(1)), default=Value(0)))
            .order_by("-negotiated", "-effective_from", "-volume_threshold")
            .first()
        )

    found = in_force(tier)
    if found is None and tier != PriceTier.STANDARD:
        found = in_force(PriceTier.STANDARD)
    return found


def gate_states(*, use_case):
    return {s.code: s for s in GateItemState.objects.filter(use_case=use_case).select_related("by")}


def gate_facts(*, use_case, stages=(), economics_viable=None):
    """What the computed gate items read. Economics are computed only for the scale gate of a use
    case at launch or scale, where the answer can matter, and only if the caller (a page that has
    them already) does not pass their verdict."""
    milestones = list(use_case.milestones.all())
    facts = gates.GateFacts(
        has_recent_spend=spend.use_case_has_recent_spend(use_case=use_case),
        has_recent_value_signal=use_case.value_signals.filter(month__gte=gates.recent_month_start()).exists(),
        tag_problems=tag_problems(use_case.tags, tag_keys_for_use_cases()),
        model_count=use_case.ai_models.count(),
        has_future_review=gates.has_future_review(milestones),
        via_triage=hasattr(use_case, "intake") and use_case.intake.triaged_at is not None,
    )
    if economics_viable is not None:
        facts.economics_viable = economics_viable
    elif Stage.SCALE in stages and use_case.stage in (Stage.LAUNCH, Stage.SCALE):
        # Imported here: the economics module reads these selectors too.
        from .value.economics import unit_economics

        facts.economics_viable = unit_economics(use_case=use_case).viable
    return facts


def stage_gate(*, use_case, stage, facts=None, states=None):
    facts = facts or gate_facts(use_case=use_case, stages=(stage,))
    states = gate_states(use_case=use_case) if states is None else states
    return gates.evaluate(use_case, stage, facts=facts, states=states)


def stage_gates(*, use_case, economics_viable=None):
    """Every gate of the use case's path, with one gathering of facts and states."""
    stages = [*gates.FORWARD, Stage.SUNSET]
    facts = gate_facts(use_case=use_case, stages=stages, economics_viable=economics_viable)
    states = gate_states(use_case=use_case)
    return {stage: gates.evaluate(use_case, stage, facts=facts, states=states) for stage in stages}


def stage_requests_open(*, use_case):
    return list(use_case.move_requests.filter(status=MoveRequestStatus.OPEN).select_related("requested_by"))


def stage_approvals_open(*, use_case):
    return list(use_case.stage_approvals.filter(used_at__isnull=True).select_related("approved_by"))


ZERO = Decimal("0")
MONEY_FIELD = DecimalField(max_digits=24, decimal_places=6)


# Reads of the value record. The caller has already checked that the user may see the use case.


def milestone_list(*, use_case):
    return list(Milestone.objects.filter(use_case=use_case).order_by("due_date", "id"))


def value_signal_list(*, use_case, limit=6):
    return list(
        ValueSignal.objects.filter(use_case=use_case)
        .annotate(
            monthly_value=ExpressionWrapper(F("outcomes") * F("value_per_outcome"), output_field=MONEY_FIELD)
        )
        .order_by("-month")[:limit]
    )


def cost_line_list(*, use_case, months=3):
    since = periods.months_back(periods.today(), months - 1)
    return list(CostLine.objects.filter(use_case=use_case, month__gte=since).order_by("-month", "category"))


def optimization_list(*, use_case):
    return list(
        OptimizationItem.objects.filter(use_case=use_case).select_related("owner").order_by(*backlog_order())
    )


def backlog_order():
    """The backlog's order wherever it is listed: by status as the choices run (proposed, in
    progress, done, rejected; not "done" first by the stored value), then the largest saving."""
    return (in_choice_order("status", OptimizationStatus), "-expected_monthly_savings", "id")


# The optimization backlog across the portfolio.


def optimization_queryset(*, user):
    """Backlog items of the use cases the user may see."""
    return OptimizationItem.objects.filter(
        permissions.use_case_scope(user, prefix="use_case__")
    ).select_related("use_case__team", "owner")


def savings_totals(items):
    """[{currency, expected, realised}] of a backlog queryset: expected savings of the items not
    rejected, realised savings of the done ones, per currency."""
    rows = (
        items.order_by()
        .values("currency")
        .annotate(
            expected=Sum("expected_monthly_savings", filter=~Q(status=OptimizationStatus.REJECTED)),
            realised=Sum("realised_monthly_savings", filter=Q(status=OptimizationStatus.DONE)),
        )
        .order_by("currency")
    )
    return [
        {"currency": r["currency"], "expected": r["expected"] or ZERO, "realised": r["realised"] or ZERO}
        for r in rows
    ]


def savings_of(items):
    """The same totals as `savings_totals`, from backlog items already loaded."""
    totals = {}
    for item in items:
        row = totals.setdefault(
            item.currency, {"currency": item.currency, "expected": ZERO, "realised": ZERO}
        )
        if item.status != OptimizationStatus.REJECTED:
            row["expected"] += item.expected_monthly_savings
        if item.status == OptimizationStatus.DONE:
            row["realised"] += item.realised_monthly_savings or ZERO
    return [totals[c] for c in sorted(totals)]


def backlog_teams(*, user):
    return Team.objects.filter(permissions.team_scope(user)).order_by("name")


def people_for_choice(*, usernames=None):
    """Active people, for the owner of a backlog item; only the named ones when `usernames` is given."""
    people = get_user_model().objects.filter(is_active=True)
    if usernames is not None:
        people = people.filter(username__in=[u for u in usernames if u])
    return list(
        people.order_by("first_name", "last_name", "username").only("username", "first_name", "last_name")
    )
