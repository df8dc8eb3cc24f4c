"""Scheduling meetings and building their agendas from the review triggers.

`agenda_build` is the one code path: the Celery beat task, the chair's button and the demo call
it. It fills the council's next draft meeting (scheduling one per the cadence when there is none)
with one item per use case whose triggers fire, each listing all its reasons, ordered by severity
and then by the amount at stake. Running it again adds nothing: a reason is known by its key, and
an existing item only gains reasons it did not have. Undecided items of closed meetings carry over.
"""

import datetime
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from aifinops.core import periods, permissions
from aifinops.core.audit import audit_record, snapshot
from aifinops.core.exceptions import ConflictError

from ..intakes import intakes_scheduled_notify
from ..models import (
    SEVERITY_RANK,
    AgendaItem,
    AgendaItemStatus,
    Cadence,
    Council,
    Meeting,
    MeetingKind,
    MeetingState,
    Severity,
    VoteChoice,
)
from ..triggers import intake_triggers, review_triggers, thresholds_for

MEETING_HOUR_UTC = 15
STEPS = {  # (months, days) between meetings
    Cadence.WEEKLY: (0, 7),
    Cadence.FORTNIGHTLY: (0, 14),
    Cadence.MONTHLY: (1, 0),
    Cadence.QUARTERLY: (3, 0),
}


def _step(council, moment):
    months, days = STEPS.get(council.cadence, (1, 0))
    return periods.shift_months(moment, months) + datetime.timedelta(days=days)


def next_meeting_time(council, *, now=None):
    """When the council meets next: one cadence step after its latest meeting (or after today at
    15:00 UTC when it has none), and never in the past."""
    now = now or timezone.now()
    latest = council.meetings.order_by("-scheduled_for").values_list("scheduled_for", flat=True).first()
    moment = _step(council, latest or now.replace(hour=MEETING_HOUR_UTC, minute=0, second=0, microsecond=0))
    while moment <= now:
        moment = _step(council, moment)
    return moment


def _kind_for(council):
    if council.cadence == Cadence.QUARTERLY:
        return MeetingKind.QUARTERLY_REVIEW
    return MeetingKind.MONTHLY_OPERATING_REVIEW


def _create_meeting(*, actor, council, scheduled_for=None, kind=None):
    meeting = Meeting.objects.create(
        council=council,
        kind=kind or _kind_for(council),
        scheduled_for=scheduled_for or next_meeting_time(council),
    )
    audit_record(actor=actor, action="meeting.schedule", obj=meeting, after=snapshot(meeting))
    return meeting


@transaction.atomic
def meeting_schedule(*, actor, council, scheduled_for=None, kind=None):
    """Schedule a draft meeting: by default the next one of the cadence; an extraordinary meeting
    takes its own date."""
    permissions.require(actor, permissions.SCHEDULE_MEETINGS, council)
    if kind is not None and kind not in MeetingKind.values:
        raise ValidationError({"kind": f"“{kind}” is not a kind of meeting."})
    if scheduled_for is not None:
        if timezone.is_naive(scheduled_for):
            raise ValidationError({"scheduled_for": "Give the time with its time zone (UTC)."})
        if scheduled_for <= timezone.now():
            raise ValidationError({"scheduled_for": "Pick a time in the future."})
    council = Council.objects.select_for_update().get(pk=council.pk)
    return _create_meeting(actor=actor, council=council, scheduled_for=scheduled_for, kind=kind)


def next_draft(council):
    return council.meetings.filter(state=MeetingState.DRAFT).order_by("scheduled_for", "id").first()


def _severity_of(reasons):
    return max(
        (r.get("severity", Severity.MEDIUM) for r in reasons),
        key=lambda s: SEVERITY_RANK.get(s, 1),
        default=Severity.MEDIUM,
    )


def _merge(item, reasons):
    """Add to `item` the reasons whose key it does not have yet; the ones added."""
    known = {r.get("key") for r in item.reasons}
    added = [r for r in reasons if r.get("key") not in known]
    if added:
        item.reasons = [*item.reasons, *added]
        item.severity = _severity_of(item.reasons)
    return added


def _subject_fields(item):
    if item.use_case_id is not None:
        return {"use_case_id": item.use_case_id}
    return {"intake_id": item.intake_id}


def carry_over(*, actor, items, meeting):
    """Carry undecided (or deferred) items into the draft `meeting`: one item per use case (or
    intake) there, keeping the reasons and pointing back to where each came from."""
    existing = {i.subject: i for i in meeting.items.all()}
    carried = []
    for old in items:
        target = existing.get(old.subject)
        if target is None:
            target = AgendaItem.objects.create(
                meeting=meeting,
                **_subject_fields(old),
                reasons=list(old.reasons),
                severity=old.severity,
                amount_at_stake=old.amount_at_stake,
                currency=old.currency,
                carried_from=old,
            )
            existing[old.subject] = target
        else:
            _merge(target, old.reasons)
            target.carried_from = target.carried_from or old
            target.amount_at_stake = max(target.amount_at_stake, old.amount_at_stake)
            target.save(
                update_fields=["reasons", "severity", "carried_from", "amount_at_stake", "updated_at"]
            )
        old.status = AgendaItemStatus.CARRIED_OVER
        old.save(update_fields=["status", "updated_at"])
        audit_record(
            actor=actor,
            action="agenda_item.carry_over",
            obj=target,
            after={"from_item": old.pk, "from_meeting": old.meeting_id, "meeting": meeting.pk},
        )
        carried.append(target)
    if carried:
        renumber(meeting)
    return carried


# An item still waiting for the council: no decision yet, or deferred (and not carried yet).
WAITING = Q(status=AgendaItemStatus.OPEN) | Q(
    status=AgendaItemStatus.DECIDED, decision__outcome=VoteChoice.DEFER
)


def undecided_items(meeting_ids=None, *, council=None):
    """Items of closed meetings still waiting: open ones and deferred ones not carried yet. An
    intake's item whose intake was decided meanwhile (no longer triaged) is not waiting: the intake
    page takes it off (`intakes.intake_taken_off`), and this guard keeps older rows off too."""
    qs = AgendaItem.objects.filter(WAITING, meeting__state=MeetingState.CLOSED).exclude(
        Q(use_case__isnull=True) & ~Q(intake__status="triaged")
    )
    if council is not None:
        qs = qs.filter(meeting__council=council)
    if meeting_ids is not None:
        qs = qs.filter(meeting_id__in=meeting_ids)
    return list(qs.order_by("meeting__scheduled_for", "position", "id"))


def renumber(meeting):
    """Positions by severity (critical first), then amount at stake, then name."""
    items = list(meeting.items.select_related("use_case", "intake"))
    items.sort(key=lambda i: (-SEVERITY_RANK.get(i.severity, 1), -i.amount_at_stake, i.title, i.pk))
    changed = []
    for position, item in enumerate(items, start=1):
        if item.position != position:
            item.position = position
            changed.append(item)
    AgendaItem.objects.bulk_update(changed, ["position"])
    return items


@dataclass
class AgendaBuild:
    meeting: Meeting | None
    created: list = field(default_factory=list)  # new items
    extended: list = field(default_factory=list)  # existing items that gained reasons
    carried: list = field(default_factory=list)

    @property
    def changed(self):
        return bool(self.created or self.extended or self.carried)


@transaction.atomic
def agenda_build(*, meeting=None, actor=None, council=None, today=None):
    """Gather the open triggers into the agenda of `meeting` (a draft), or of the council's next
    draft meeting, scheduled per its cadence when there is none. `actor` None is the scheduler.

    Returns an AgendaBuild naming the items created and extended; a second run changes nothing.
    """
    if meeting is not None:
        council = meeting.council
    elif council is None:
        council = Council.objects.order_by("id").first()
        if council is None:
            return AgendaBuild(meeting=None)
    if actor is not None:
        permissions.require(actor, permissions.BUILD_AGENDA, council)
    # One builder at a time per council: the lock makes a second wait, then find the work done.
    council = Council.objects.select_for_update().get(pk=council.pk)
    if meeting is not None:
        meeting = Meeting.objects.select_for_update().get(pk=meeting.pk)
        if meeting.state != MeetingState.DRAFT:
            raise ConflictError(
                f"The {meeting} agenda is {meeting.get_state_display().lower()}: it is no longer built."
            )
    else:
        meeting = next_draft(council) or _create_meeting(actor=actor, council=council)

    result = AgendaBuild(meeting=meeting)
    result.carried = carry_over(actor=actor, items=undecided_items(council=council), meeting=meeting)

    found = review_triggers(thresholds=thresholds_for(council), today=today, exclude_meeting=meeting)
    waiting = intake_triggers(exclude_meeting=meeting)
    existing = {i.subject: i for i in meeting.items.all()}
    new_items = []
    subjects = [(("use_case", pk), {"use_case_id": pk}, t) for pk, t in found.items()]
    subjects += [(("intake", pk), {"intake_id": pk}, t) for pk, t in waiting.items()]
    for subject, fields, triggers in subjects:
        reasons = [r.as_dict() for r in triggers.reasons]
        item = existing.get(subject)
        if item is None:
            new_items.append(
                AgendaItem(
                    meeting=meeting,
                    **fields,
                    reasons=reasons,
                    severity=_severity_of(reasons),
                    amount_at_stake=triggers.amount_at_stake,
                    currency=triggers.currency,
                )
            )
            continue
        added = _merge(item, reasons)
        if added or triggers.amount_at_stake > item.amount_at_stake:
            item.amount_at_stake = max(item.amount_at_stake, triggers.amount_at_stake)
            item.save(update_fields=["reasons", "severity", "amount_at_stake", "updated_at"])
            if added:
                result.extended.append(item)
    result.created = AgendaItem.objects.bulk_create(new_items)
    if result.changed:
        renumber(meeting)
        audit_record(
            actor=actor,
            action="agenda.build",
            obj=meeting,
            after={
                "created": sorted(i.use_case_id for i in result.created if i.use_case_id),
                "extended": sorted(i.use_case_id for i in result.extended if i.use_case_id),
                "carried": sorted(i.use_case_id for i in result.carried if i.use_case_id),
                "intakes": sorted(
                    i.intake_id
                    for i in (*result.created, *result.extended, *result.carried)
                    if i.is_intake_review
                ),
            },
        )
    intakes_added = [i for i in result.created if i.is_intake_review]
    if intakes_added:
        intakes_scheduled_notify(meeting=meeting, items=intakes_added)
    return result
