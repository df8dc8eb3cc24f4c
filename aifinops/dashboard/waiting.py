"""What is waiting for someone's decision, oldest first: the dashboard's "decisions waiting", the
narrative's "where governance is slow" and "what decisions are needed".

The dashboard lives in the project package, above every app, so it may read intake and the
council too; it imports them inside functions so that it still loads without them. Sources: open
stage move requests, open budget increase requests, intakes waiting for triage or for a decision,
the council's open agenda items (of meetings not closed) and its submitted funding requests not
yet on an open item, read through the council's selectors.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q
from django.urls import reverse

from aifinops.core import permissions
from portfolio.choices import MoveRequestStatus, Stage
from portfolio.models import StageMoveRequest, UseCase
from showback.budgets import selectors as budget_selectors
from showback.models import IncreaseRequestStatus


@dataclass(frozen=True)
class WaitingItem:
    kind: str
    subject: str
    url: str
    decided_by: str
    since: datetime.datetime
    days: int
    amount: Decimal | None = None
    currency: str = ""


def _days(since, now):
    return max(0, (now - since).days)


def _stage_moves(user, filters, now):
    qs = StageMoveRequest.objects.filter(
        permissions.use_case_scope(user, prefix="use_case__"), status=MoveRequestStatus.OPEN
    ).select_related("use_case")
    if filters is not None:
        qs = qs.filter(filters.use_case_q(prefix="use_case__"))
    labels = dict(Stage.choices)
    return [
        WaitingItem(
            kind="Stage move",
            subject=f"{r.use_case.name} to {labels.get(r.target_stage, r.target_stage)}",
            url=r.use_case.get_absolute_url(),
            decided_by="Council chair, or the owners when no review is needed",
            since=r.created_at,
            days=_days(r.created_at, now),
        )
        for r in qs
    ]


def _budget_increases(user, filters, now):
    qs = budget_selectors.increase_request_queryset(user=user).filter(status=IncreaseRequestStatus.OPEN)
    qs = qs.select_related("budget__team", "budget__use_case__team")
    if filters is not None and filters.narrowed:
        if filters.by_use_case:
            qs = qs.filter(budget__use_case__in=_use_cases(filters))
        if filters.team is not None:
            qs = qs.filter(Q(budget__team=filters.team) | Q(budget__use_case__team=filters.team))
        if filters.function:
            qs = qs.filter(
                Q(budget__function=filters.function)
                | Q(budget__team__business_function=filters.function)
                | Q(budget__use_case__business_function=filters.function)
            )
    items = []
    for r in qs:
        who = "Budget owner or finance" + (", then the council" if r.needs_council else "")
        items.append(
            WaitingItem(
                kind="Budget increase",
                subject=f"{r.budget.name}: raise to {r.requested_amount:,.0f} {r.currency}",
                url=reverse("showback:budget_detail", args=[r.budget_id]),
                decided_by=who,
                since=r.created_at,
                days=_days(r.created_at, now),
                amount=r.requested_amount - r.current_amount,
                currency=r.currency,
            )
        )
    return items


def _use_cases(filters):
    return UseCase.objects.filter(filters.use_case_q())


def _intakes(user, filters, now, *, on_agenda=()):
    """Intakes waiting for triage or a decision; `on_agenda` are the intakes listed already as the
    council's items (with their meeting), so each appears once."""
    if filters is not None and filters.by_use_case:
        return []  # an intake has no stage or risk tier yet
    try:
        from intake.models import IntakeRequest, IntakeStatus
    except ImportError:  # pragma: no cover - intake ships with the product
        return []
    qs = (
        IntakeRequest.objects.filter(
            permissions.intake_scope(user), status__in=(IntakeStatus.SUBMITTED, IntakeStatus.TRIAGED)
        )
        .exclude(pk__in=on_agenda)
        .select_related("team")
    )
    if filters is not None:
        if filters.team is not None:
            qs = qs.filter(team=filters.team)
        if filters.function:
            qs = qs.filter(team__business_function=filters.function)
    items = []
    for r in qs:
        triaged = r.status == IntakeStatus.TRIAGED
        since = (r.triaged_at if triaged else r.submitted_at) or r.created_at
        items.append(
            WaitingItem(
                kind="Intake decision" if triaged else "Intake triage",
                subject=f"{r.name} ({r.team.name})",
                url=reverse("intake:detail", args=[r.pk]),
                decided_by="The council, at its next meeting" if triaged else "Triage",
                since=since,
                days=_days(since, now),
            )
        )
    return items


def _council(user, filters, now):
    """The council's open agenda items of meetings not yet closed (a use case's or an intake's), and
    the funding requests submitted and not yet on an open item, through the council's own
    selectors. Returns the items and the ids of the intakes among them."""
    try:
        from council import selectors as council_selectors
        from council.selectors import agenda_item_queryset
    except ImportError:  # pragma: no cover - the council ships with the product
        return [], set()
    items = agenda_item_queryset(user=user).filter(status="open").exclude(meeting__state="closed")
    requests = [
        r for r in council_selectors.funding_request_list(user=user, statuses=["submitted"]) if r.submitted_at
    ]
    if filters is not None:
        in_slice = UseCase.objects.filter(filters.use_case_q())
        intakes = Q(use_case__isnull=True, intake__isnull=False)
        if filters.by_use_case:
            intakes = Q(pk__in=[])  # an intake has no stage or risk tier yet
        if filters.team is not None:
            intakes &= Q(intake__team=filters.team)
        if filters.function:
            intakes &= Q(intake__team__business_function=filters.function)
        items = items.filter(Q(use_case__in=in_slice) | intakes)
        ids = set(in_slice.filter(pk__in=[r.use_case_id for r in requests]).values_list("pk", flat=True))
        requests = [r for r in requests if r.use_case_id in ids]
    out, on_agenda, intakes_on_agenda = [], set(), set()
    items = list(items.prefetch_related(None))
    # A carried item is a new row: it has waited since the first item of its chain.
    first_seen = council_selectors.waiting_since(i.pk for i in items)
    for item in items:
        if item.use_case_id is not None:
            on_agenda.add(item.use_case_id)
        elif item.intake_id is not None:
            intakes_on_agenda.add(item.intake_id)
        out.append(
            WaitingItem(
                kind="Council item",
                subject=f"{item.title} (meeting of {item.meeting.scheduled_for:%-d %b %Y})",
                url=reverse("council:item_detail", args=[item.pk]),
                decided_by="The council, at its meeting",
                since=first_seen.get(item.pk, item.created_at),
                days=_days(first_seen.get(item.pk, item.created_at), now),
                amount=item.amount_at_stake or None,
                currency=item.currency,
            )
        )
    for r in requests:
        if r.use_case_id in on_agenda:
            continue
        out.append(
            WaitingItem(
                kind="Funding request",
                subject=f"{r.use_case.name} to {dict(Stage.choices).get(r.target_stage, r.target_stage)}",
                url=reverse("council:use_case_history", args=[r.use_case.key]),
                decided_by="The council, once it is on an agenda",
                since=r.submitted_at,
                days=_days(r.submitted_at, now),
                amount=r.amount,
                currency=r.currency,
            )
        )
    return out, intakes_on_agenda


def waiting_items(*, user, filters=None, now) -> list[WaitingItem]:
    council, intakes_on_agenda = _council(user, filters, now)
    items = [
        *_stage_moves(user, filters, now),
        *_budget_increases(user, filters, now),
        *_intakes(user, filters, now, on_agenda=intakes_on_agenda),
        *council,
    ]
    items.sort(key=lambda i: (i.since, i.kind, i.subject))
    return items


def sources_note() -> list[str]:
    return [
        "Open stage move requests, budget increase requests, intakes waiting for triage or a decision, "
        "the council's open agenda items and funding requests not yet on an agenda."
    ]
