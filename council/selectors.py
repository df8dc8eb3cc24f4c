from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Case, Count, IntegerField, Prefetch, Q, Value, When
from django.http import Http404
from django.shortcuts import get_object_or_404

from aifinops.core import permissions
from portfolio.choices import Stage

from .models import (
    AgendaItem,
    Council,
    CouncilMember,
    Decision,
    FundingRequest,
    Meeting,
    MeetingState,
    Vote,
    VoteChoice,
)


def council_queryset():
    members = CouncilMember.objects.filter(is_active=True).select_related("user")
    return (
        Council.objects.select_related("chair")
        .prefetch_related(Prefetch("members", queryset=members))
        .order_by("name")
    )


def council_list():
    return list(council_queryset())


def council_seats(*, user):
    return list(CouncilMember.objects.filter(user=user, is_active=True).select_related("council"))


# Meetings, agendas and decisions. The council's pages are for those who may open the council
# section (members, chair, finance, platform admins); owners follow their own items through
# `page_selectors.owned_agenda_items`.


def council_seat(*, user, council):
    """The user's active seat in the council, or None: what `permissions.can_vote` is given."""
    if not getattr(user, "is_authenticated", False):
        return None
    return CouncilMember.objects.filter(council=council, user=user, is_active=True).first()


def meeting_queryset(*, user):
    if not permissions.can_access_section(user, "council"):
        return Meeting.objects.none()
    return Meeting.objects.select_related("council__chair").annotate(item_count=Count("items"))


def meeting_list(*, user, council=None, states=None):
    qs = meeting_queryset(user=user)
    if council is not None:
        qs = qs.filter(council=council)
    if states:
        qs = qs.filter(state__in=states)
    return list(qs.order_by("-scheduled_for", "-id"))


def meeting_get(*, user, pk):
    return get_object_or_404(meeting_queryset(user=user), pk=pk)


def next_meeting(*, council):
    """The council's next meeting not yet closed: in session first, then published, then draft."""
    order = Case(
        When(state=MeetingState.IN_SESSION, then=Value(0)),
        When(state=MeetingState.PUBLISHED, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return (
        Meeting.objects.filter(council=council)
        .exclude(state=MeetingState.CLOSED)
        .annotate(order=order)
        .order_by("order", "scheduled_for", "id")
        .first()
    )


def _items(meeting):
    votes = Vote.objects.select_related("member__user").order_by("member__persona", "member__user__username")
    return (
        AgendaItem.objects.filter(meeting=meeting)
        .select_related(
            "use_case__team",
            "use_case__business_owner",
            "use_case__technical_owner",
            "decision__recorded_by",
            "decision__funding_request__milestone",
            "carried_from__meeting",
        )
        .prefetch_related(Prefetch("votes", queryset=votes))
        .order_by("position", "id")
    )


def agenda_items(*, meeting):
    """The meeting's items in agenda order, with their use case, votes and decision: a fixed
    number of queries however long the agenda."""
    return list(_items(meeting))


def agenda_item_queryset(*, user):
    """The agenda items the user may read: all of them for the council section, the items of the
    use cases they own for an owner. The item page and the API answer to this one rule."""
    votes = Vote.objects.select_related("member__user").order_by("member__persona", "member__user__username")
    qs = AgendaItem.objects.select_related(
        "meeting__council", "use_case", "decision__recorded_by"
    ).prefetch_related(Prefetch("votes", queryset=votes))
    if permissions.can_access_section(user, "council"):
        return qs
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    return qs.filter(Q(use_case__business_owner=user) | Q(use_case__technical_owner=user))


def agenda_item_get(*, user, pk):
    item = (
        agenda_item_queryset(user=user)
        .select_related(
            "meeting__council__chair",
            "use_case__team",
            "use_case__business_owner",
            "use_case__technical_owner",
            "carried_from__meeting",
        )
        .filter(pk=pk)
        .first()
    )
    if item is None:
        raise Http404("No such agenda item.")
    return item


def item_review_pack(*, item):
    """The item's pack: frozen at publication, or built live while the meeting is a draft."""
    if item.review_pack is not None:
        return item.review_pack
    from .review_packs import review_pack_build

    return review_pack_build(use_case=item.use_case, reasons=item.reasons, council=item.meeting.council)


@dataclass
class ApprovedSpend:
    use_case: object
    outcome: str
    amount: Decimal | None
    currency: str
    milestone: str
    target_stage: str
    period_start: object
    period_end: object
    conditions: str
    decision: object


def approved_spend_list(*, meeting):
    """What the meeting approved, per use case: amount, milestone, conditions. The output of each
    meeting, for its page, its CSV and its printable page."""
    decisions = (
        Decision.objects.filter(
            item__meeting=meeting, outcome__in=(VoteChoice.APPROVE, VoteChoice.APPROVE_WITH_CONDITIONS)
        )
        .select_related("item__use_case__team", "funding_request__milestone", "recorded_by")
        .order_by("item__position", "item_id")
    )
    rows = []
    for d in decisions:
        request = d.funding_request
        milestone = ""
        if request is not None:
            milestone = request.milestone.name if request.milestone_id else Stage(request.target_stage).label
        rows.append(
            ApprovedSpend(
                use_case=d.item.use_case,
                outcome=d.outcome,
                amount=d.amount_approved,
                currency=d.currency,
                milestone=milestone,
                target_stage=request.target_stage if request is not None else "",
                period_start=request.period_start if request is not None else None,
                period_end=request.period_end if request is not None else None,
                conditions=d.conditions,
                decision=d,
            )
        )
    return rows


def approved_spend_totals(rows):
    """{currency: total approved} of an approved spend list; currencies are never added together."""
    totals = defaultdict(Decimal)
    for row in rows:
        if row.amount is not None:
            totals[row.currency] += row.amount
    return dict(totals)


def decision_log(*, use_case):
    """Every council decision on a use case, newest first, with the meeting and the votes. The
    caller has checked that the user may see the use case."""
    return list(
        Decision.objects.filter(item__use_case=use_case)
        .select_related("item__meeting", "recorded_by", "funding_request__milestone")
        .prefetch_related(Prefetch("item__votes", queryset=Vote.objects.select_related("member__user")))
        .order_by("-recorded_at", "-id")
    )


def decision_queryset(*, user):
    """The decisions the user may read: all of them for the council section, else those on the
    use cases the user may see."""
    qs = Decision.objects.select_related("item__use_case", "recorded_by")
    if permissions.can_access_section(user, "council"):
        return qs
    return qs.filter(permissions.use_case_scope(user, prefix="item__use_case__"))


def funding_request_queryset(*, user):
    """The funding requests the user may read: all of them for the council section, else those of
    the use cases the user may see."""
    qs = FundingRequest.objects.select_related("use_case", "milestone", "requested_by")
    if permissions.can_access_section(user, "council"):
        return qs
    return qs.filter(permissions.use_case_scope(user, prefix="use_case__"))


def funding_request_list(*, user, use_case=None, statuses=None):
    qs = funding_request_queryset(user=user).select_related("use_case__team")
    if use_case is not None:
        qs = qs.filter(use_case=use_case)
    if statuses:
        qs = qs.filter(status__in=statuses)
    return list(qs.order_by("-created_at", "-id"))
