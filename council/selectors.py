"""Reads of the council: its members, meetings, agendas, decisions and funding requests, scoped to
the user; and what only the council's pages need: the standing sections of a meeting, the tally and
ballot of an item, the owners' view of their items, and a use case's history with the council.
"""

import datetime
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Case, Count, IntegerField, Prefetch, Q, Sum, Value, When
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from aifinops.core import periods, permissions
from portfolio import selectors as portfolio_selectors
from portfolio.choices import OptimizationStatus, Stage
from portfolio.gates import rules as gates
from portfolio.licenses import selectors as license_selectors
from portfolio.models import UseCase, ValueSignal
from showback import fx
from showback import selectors as spend
from showback.analytics import selectors as analytics

from .models import (
    AgendaItem,
    AgendaItemStatus,
    Council,
    CouncilMember,
    Decision,
    FundingRequest,
    Meeting,
    MeetingKind,
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
# `owned_agenda_items`.


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
            "intake__team",
            "decision__recorded_by",
            "decision__funding_request__milestone",
            "decision__milestone",
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
        "meeting__council", "use_case", "intake", "decision__recorded_by", "decision__milestone"
    ).prefetch_related(Prefetch("votes", queryset=votes))
    if permissions.can_access_section(user, "council"):
        return qs
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    # An intake's requester and owners follow its review as the owners of a use case follow theirs.
    return qs.filter(
        Q(use_case__business_owner=user)
        | Q(use_case__technical_owner=user)
        | Q(intake__requester=user)
        | Q(intake__business_owner=user)
        | Q(intake__technical_owner=user)
    )


def waiting_since(item_ids):
    """{item id: when its subject first came to the council}: the creation of the first item of its
    carry-over chain (following `carried_from` back), so an item carried to a new meeting keeps
    the days it has waited. One query whatever the number of items or the length of the chains."""
    ids = sorted({int(pk) for pk in item_ids})
    if not ids:
        return {}
    # The table is named literally (council_agendaitem) and the ids are integers bound as
    # parameters: nothing in this SQL comes from outside. `IN (...)` rather than PostgreSQL's
    # `= ANY(array)`, so that `make run` on SQLite answers too.
    placeholders = ", ".join(["%s"] * len(ids))
    sql = f"""
        WITH RECURSIVE chain(start_id, id, carried_from_id, created_at, depth) AS (
            SELECT id, id, carried_from_id, created_at, 0 FROM council_agendaitem WHERE id IN ({placeholders})
            UNION ALL
            SELECT chain.start_id, prev.id, prev.carried_from_id, prev.created_at, chain.depth + 1
            FROM chain JOIN council_agendaitem prev ON prev.id = chain.carried_from_id
            WHERE chain.depth < 1000
        )
        SELECT start_id, MIN(created_at) FROM chain GROUP BY start_id
    """  # noqa: S608 (only "%s" placeholders are formatted in)
    with connection.cursor() as cursor:
        cursor.execute(sql, ids)
        rows = cursor.fetchall()
    # SQLite hands MIN(created_at) back as text; PostgreSQL as an aware datetime.
    return {start: _aware(moment) for start, moment in rows}


def _aware(moment):
    if isinstance(moment, str):
        moment = parse_datetime(moment)
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, datetime.UTC)


def agenda_item_get(*, user, pk):
    item = (
        agenda_item_queryset(user=user)
        .select_related(
            "meeting__council__chair",
            "use_case__team",
            "use_case__business_owner",
            "use_case__technical_owner",
            "intake__team",
            "intake__requester",
            "intake__business_owner",
            "intake__technical_owner",
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
    from .review_packs import item_pack_build

    return item_pack_build(item=item)


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
    """What the meeting approved, per use case: amount, the milestone it funds, the period it
    covers, conditions. The output of each meeting, for its page, its CSV and its printable page.

    The milestone and period are the decision's own (it records them from the funding request, or
    from the chair's form when there was none); decisions recorded before it kept them fall back to
    their funding request."""
    decisions = (
        Decision.objects.filter(
            item__meeting=meeting, outcome__in=(VoteChoice.APPROVE, VoteChoice.APPROVE_WITH_CONDITIONS)
        )
        .select_related(
            "item__use_case__team",
            "item__intake__team",
            "funding_request__milestone",
            "milestone",
            "recorded_by",
        )
        .order_by("item__position", "item_id")
    )
    rows = []
    for d in decisions:
        request = d.funding_request
        if d.milestone_id:
            milestone = d.milestone.name
        elif request is not None:
            milestone = request.milestone.name if request.milestone_id else Stage(request.target_stage).label
        else:
            milestone = ""
        target = d.milestone.target_stage if d.milestone_id else ""
        if request is not None:
            target = request.target_stage
        rows.append(
            ApprovedSpend(
                use_case=d.item.use_case,
                outcome=d.outcome,
                amount=d.amount_approved,
                currency=d.currency,
                milestone=milestone,
                target_stage=target,
                period_start=d.period_start or (request.period_start if request is not None else None),
                period_end=d.period_end or (request.period_end if request is not None else None),
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


@dataclass
class SpendTotal:
    label: str
    totals: dict  # {currency: amount}
    start: datetime.date | None = None  # a period's first and last day (None for "No period")
    end: datetime.date | None = None


def approved_spend_totals_by(rows):
    """The approved amounts by team and by period ("1 Jan 2027 to 31 Mar 2027"), per currency."""
    teams, spans = defaultdict(lambda: defaultdict(Decimal)), defaultdict(lambda: defaultdict(Decimal))
    order = {}
    for row in rows:
        if row.amount is None:
            continue
        teams[row.use_case.team.name if row.use_case else ""][row.currency] += row.amount
        if row.period_start:
            span = f"{row.period_start:%-d %b %Y} to {row.period_end:%-d %b %Y}"
            order[span] = (row.period_start, row.period_end)
        else:
            span, order[span] = "No period", (datetime.date.max, datetime.date.max)
        spans[span][row.currency] += row.amount
    return {
        "by_team": [SpendTotal(name, dict(t)) for name, t in sorted(teams.items())],
        "by_period": [
            SpendTotal(span, dict(spans[span]), *(d if d != datetime.date.max else None for d in order[span]))
            for span in sorted(spans, key=order.get)
        ],
    }


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


# The standing sections. The monthly operating review and the quarterly review each have standing
# sections besides the per-use-case items (seeds/000, "governance cadence"). They read the existing
# showback and portfolio selectors, scoped to the user, and stay a fixed handful of queries; the
# pages link to the showback and portfolio pages for the detail.

TREND_MONTHS = 6
TOP_ANOMALIES = 5
TOP_COMMITMENTS = 5
RENEWAL_MONTHS = 3
ZERO = Decimal("0")


def _last_full_month(day: datetime.date) -> tuple[datetime.date, datetime.date]:
    start = periods.months_back(day, 1)
    return start, periods.month_start(day) - datetime.timedelta(days=1)


def _last_full_quarter(day: datetime.date) -> tuple[datetime.date, datetime.date]:
    first_month = ((day.month - 1) // 3) * 3 + 1
    this_quarter = datetime.date(day.year, first_month, 1)
    return periods.months_back(this_quarter, 3), this_quarter - datetime.timedelta(days=1)


def _anomalies(user):
    counts = analytics.anomaly_counts(user=user)
    unresolved = analytics.anomaly_queryset(user=user).filter(status__in=("open", "acknowledged"))
    return {
        "open_by_severity": {
            severity: sum(n for (status, sev), n in counts.items() if sev == severity and status == "open")
            for severity in ("high", "medium", "low")
        },
        "acknowledged": sum(n for (status, _), n in counts.items() if status == "acknowledged"),
        # The size of the list `top` is the first of (for its "See all").
        "high_unresolved": sum(
            n for (status, sev), n in counts.items() if sev == "high" and status in ("open", "acknowledged")
        ),
        "top": list(unresolved.filter(severity="high").order_by("-date", "-id")[:TOP_ANOMALIES]),
    }


def _optimization(user):
    items = portfolio_selectors.optimization_queryset(user=user)
    by_status = dict(items.order_by().values("status").annotate(n=Count("id")).values_list("status", "n"))
    return {
        "totals": portfolio_selectors.savings_totals(items),
        "in_progress": by_status.get(OptimizationStatus.IN_PROGRESS, 0),
        "proposed": by_status.get(OptimizationStatus.PROPOSED, 0),
        "done": by_status.get(OptimizationStatus.DONE, 0),
    }


def _adoption(user, month: datetime.date):
    """Active users and outcomes the use cases reported for `month`, per currency of value."""
    row = ValueSignal.objects.filter(
        permissions.use_case_scope(user, prefix="use_case__"), month=month
    ).aggregate(active_users=Sum("active_users"), outcomes=Sum("outcomes"))
    return {"month": month, "active_users": row["active_users"] or 0, "outcomes": row["outcomes"] or 0}


def operating_review(*, user, as_of=None):
    """The monthly operating review's standing sections: spend trend, the month's total, premium
    model share and vendor overlap over the last full month before `as_of`; anomalies, adoption and
    optimization progress as they stand now.

    Spend reads showback's selectors, the ones its own pages and the dashboard read, in the
    reporting currency (each day at its rate; a currency without one is named, never counted at
    1): `trend` is monthly_trend up to the month's end, `total` the month's Converted (with its
    amounts as billed), `premium` premium_share_reporting, `overlap` vendor_overlap_list."""
    day = as_of or periods.today()
    start, end = _last_full_month(day)
    # One read of the rates for the three figures: every rate into the reporting currency up to
    # the month's end covers the trend's months and the month's.
    rates = fx.RateTable(None, fx.reporting_currency(), end)
    into = rates.into
    premium = spend.premium_share_reporting(user=user, start=start, end=end, table=rates)
    month = spend.daily_spend_queryset(user=user).filter(date__gte=start, date__lte=end)
    return {
        "kind": MeetingKind.MONTHLY_OPERATING_REVIEW,
        "period_start": start,
        "period_end": end,
        "currency": into,
        "trend": spend.monthly_trend(user=user, months=TREND_MONTHS, through=end, table=rates),
        "total": premium["total"],
        "premium": premium,
        "overlap": spend.vendor_overlap_list(month, into=into, table=rates),
        "anomalies": _anomalies(user),
        "adoption": _adoption(user, start),
        "optimization": _optimization(user),
    }


def _allocation(user, start, end, *, table):
    """AI spend per stage of the use cases over start..end in the reporting currency (each day at
    its rate, the amounts as billed beside it), and the use cases per stage: where the money goes
    in the portfolio. With the Converted of the whole, which names the spend without a rate."""
    by_stage = spend.spend_by_reporting(user=user, dimension="stage", start=start, end=end, table=table)
    rows = {r["key"] or "": r for r in by_stage["rows"]}
    counts = portfolio_selectors.stage_counts(user=user)
    order = [*Stage.values, ""]
    allocation = [
        {
            "stage": stage,
            "label": Stage(stage).label if stage else "Unattributed",
            "use_cases": counts.get(stage, 0),
            "spend": rows[stage]["amount"] if stage in rows else ZERO,
            "original": rows[stage]["original"] if stage in rows else {},
            "missing": rows[stage]["missing"] if stage in rows else {},
            "foreign": rows[stage]["foreign"] if stage in rows else False,
        }
        for stage in order
        if counts.get(stage) or stage in rows
    ]
    return allocation, by_stage["total"]


def quarterly_review(*, user, as_of=None):
    """The quarterly review's standing sections: commitments the steady providers allow and the AI
    tool subscriptions renewing in the next three months; vendor overlap to rationalise and the
    portfolio's allocation by stage over the last full quarter, in the reporting currency (each day
    at its rate; a currency without one named, never counted at 1)."""
    day = as_of or periods.today()
    start, end = _last_full_quarter(day)
    rates = fx.RateTable(None, fx.reporting_currency(), end)
    quarter = spend.daily_spend_queryset(user=user).filter(date__gte=start, date__lte=end)
    plans = analytics.commitment_plans(user=user, as_of=day)
    renewals = license_selectors.renewals_in(user=user, start=day, months=RENEWAL_MONTHS)
    allocation, allocation_total = _allocation(user, start, end, table=rates)
    return {
        "kind": MeetingKind.QUARTERLY_REVIEW,
        "period_start": start,
        "period_end": end,
        "currency": rates.into,
        "commitments": [p for p in plans if p.suggestion is not None][:TOP_COMMITMENTS],
        "renewals": renewals,
        "steady_providers": sum(1 for p in plans if p.stability.stable),
        "providers": len(plans),
        "overlap": spend.vendor_overlap_list(quarter, into=rates.into, table=rates),
        "allocation": allocation,
        "allocation_total": allocation_total,
    }


def standing_sections(*, meeting, user, as_of=None):
    """The standing sections of the meeting's kind, or None for an extraordinary meeting. The spend
    periods end before the meeting's day (or today, for a meeting still ahead)."""
    as_of = as_of or min(periods.today(), meeting.scheduled_for.date())
    if meeting.kind == MeetingKind.MONTHLY_OPERATING_REVIEW:
        return operating_review(user=user, as_of=as_of)
    if meeting.kind == MeetingKind.QUARTERLY_REVIEW:
        return quarterly_review(user=user, as_of=as_of)
    return None


# The agenda, the ballot of an item, and the owners' view.


@dataclass
class Tally:
    """The votes on one item by choice, in the order of the choices, and the quorum."""

    counts: list  # [(choice, label, n)]
    votes: int
    quorum: int
    members: int | None = None  # the council's active seats, when the caller counted them

    @property
    def unreachable(self):
        return self.members is not None and self.quorum > self.members

    @property
    def met(self):
        return self.votes >= self.quorum

    @property
    def missing(self):
        return max(self.quorum - self.votes, 0)


def tally_of(item, *, members=None):
    """The tally of an item whose votes (with their member) are loaded or prefetched."""
    votes = [v for v in item.votes.all() if v.member.is_active]
    counts = Counter(v.choice for v in votes)
    return Tally(
        counts=[(choice, label, counts.get(choice, 0)) for choice, label in VoteChoice.choices],
        votes=len(votes),
        quorum=item.meeting.council.quorum,
        members=members,
    )


def active_seats(*, council):
    """How many members sit on the council now: what the quorum is read against."""
    return CouncilMember.objects.filter(council=council, is_active=True).count()


@dataclass
class AgendaRow:
    item: object
    tally: Tally
    decision: object


def agenda_rows(*, meeting):
    """The meeting's items in agenda order (severity, then amount at stake), each with its tally and
    decision: the queries of `agenda_items`, however long the agenda."""
    rows = []
    for item in agenda_items(meeting=meeting):
        item.meeting = meeting  # the tally reads the council's quorum from the meeting already loaded
        rows.append(AgendaRow(item=item, tally=tally_of(item), decision=getattr(item, "decision", None)))
    return rows


@dataclass
class Ballot:
    """What the voting card of an item shows the user."""

    tally: Tally
    votes: list
    my_vote: object
    seat: object
    can_vote: bool
    can_decide: bool
    decision: object


def ballot(*, item, user):
    seat = council_seat(user=user, council=item.meeting.council)
    votes = list(item.votes.all())
    decision = getattr(item, "decision", None)
    return Ballot(
        tally=tally_of(item, members=active_seats(council=item.meeting.council)),
        votes=votes,
        my_vote=next((v for v in votes if seat is not None and v.member_id == seat.pk), None),
        seat=seat,
        can_vote=item.status == AgendaItemStatus.OPEN and permissions.can_vote(user, item.meeting, seat),
        can_decide=decision is None
        and item.status == AgendaItemStatus.OPEN
        and permissions.can_record_decision(user, item.meeting),
        decision=decision,
    )


def owned_use_cases(*, user):
    """The use cases the user owns (business or technical), with the next stage each would ask
    funding for."""
    if not getattr(user, "is_authenticated", False):
        return []
    use_cases = list(
        UseCase.objects.filter(Q(business_owner=user) | Q(technical_owner=user))
        .select_related("team")
        .order_by("name")
    )
    for use_case in use_cases:
        use_case.next_stage = gates.next_stage(use_case)
        use_case.next_stage_label = Stage(use_case.next_stage).label if use_case.next_stage else ""
    return use_cases


def owned_funding_requests(*, user, limit=50):
    """Funding requests of the use cases the user owns, newest first, with the decision on each."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(
        FundingRequest.objects.filter(Q(use_case__business_owner=user) | Q(use_case__technical_owner=user))
        .select_related("use_case", "milestone", "requested_by")
        .prefetch_related(Prefetch("decisions", queryset=Decision.objects.select_related("item__meeting")))
        .order_by("-created_at", "-id")[:limit]
    )


def owned_agenda_items(*, user, limit=30):
    """Agenda items of the use cases the user owns and of the intakes they requested or own,
    newest meeting first, with their tally and decision: where the owner's items stand."""
    if not getattr(user, "is_authenticated", False):
        return []
    votes = Vote.objects.select_related("member")
    items = list(
        AgendaItem.objects.filter(
            Q(use_case__business_owner=user)
            | Q(use_case__technical_owner=user)
            | Q(intake__requester=user)
            | Q(intake__business_owner=user)
            | Q(intake__technical_owner=user)
        )
        .select_related("meeting__council", "use_case", "intake", "decision")
        .prefetch_related(Prefetch("votes", queryset=votes))
        .order_by("-meeting__scheduled_for", "position", "id")[:limit]
    )
    return [AgendaRow(item=i, tally=tally_of(i), decision=getattr(i, "decision", None)) for i in items]


def use_case_council_history(*, use_case):
    """Everything the council did about one use case (the caller checked the user may see it):
    its decisions newest first, the agenda items it was on, and its funding requests."""
    items = list(
        AgendaItem.objects.filter(use_case=use_case)
        .select_related("meeting__council", "decision__recorded_by")
        .order_by("-meeting__scheduled_for", "-id")
    )
    requests = list(
        FundingRequest.objects.filter(use_case=use_case)
        .select_related("milestone", "requested_by")
        .order_by("-created_at", "-id")
    )
    return {
        "decisions": decision_log(use_case=use_case),
        "items": items,
        "funding_requests": requests,
    }


def meeting_outcome(*, meeting):
    """The output of a meeting: its approved spend list with totals per currency, and every decision
    (approved or not) in agenda order."""
    rows = approved_spend_list(meeting=meeting)
    decisions = list(
        Decision.objects.filter(item__meeting=meeting)
        .select_related("item__use_case__team", "item__intake", "recorded_by", "funding_request")
        .order_by("item__position", "item_id")
    )
    return {
        "approved": rows,
        "totals": approved_spend_totals(rows),
        **approved_spend_totals_by(rows),
        "decisions": decisions,
    }
