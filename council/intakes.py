"""An intake before the council: what its requester is told, and what the intake page reads.

Triage sends an intake to review; the agenda builder puts it on the council's next meeting
(`services.agenda`, through `triggers.intake_triggers`); the decision comes back to the intake
(`services.decisions`). This module holds the words: the notice to the requester when the intake is
scheduled, and `intake_review_of`, which council registers in intake's door (intake/review.py).
"""

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from aifinops.core.audit import audit_record
from aifinops.core.history import person_name, register_actions
from aifinops.core.notifications import notify
from intake.review import CouncilReview

from .models import AgendaItem, AgendaItemStatus, MeetingState, VoteChoice

DECIDES = (
    "whether to fund its first milestone: approve (it becomes a use case at Concept with that "
    "milestone funded), approve with conditions (each condition becomes a milestone), defer it to a "
    "later meeting, or reject it with the reasons"
)


def meeting_words(meeting):
    """ "Monthly operating review on Tuesday 15 December 2026 at 15:00 UTC, chaired by Carla Chair"."""
    chair = meeting.council.chair
    chaired = f", chaired by {person_name(chair)}" if chair is not None else ""
    return (
        f"{meeting.get_kind_display()} of the {meeting.council.name} on "
        f"{meeting.scheduled_for:%A %-d %B %Y at %H:%M} UTC{chaired}"
    )


def intake_people(intake):
    return [intake.requester, intake.business_owner, intake.technical_owner]


def intakes_scheduled_notify(*, meeting, items):
    """Tell each intake's requester and owners which meeting reviews it, when, who chairs it and
    what the council will decide."""
    for item in items:
        intake = item.intake
        notify(
            recipients=intake_people(intake),
            subject=f"{intake.reference} {intake.name} is on the council's agenda on "
            f"{meeting.scheduled_for:%-d %b %Y}",
            body=f"It will be reviewed at the {meeting_words(meeting)}. The council will decide {DECIDES}.",
            url=intake.get_absolute_url(),
        )


def _decision_words(decision, item):
    parts = []
    if decision.amount_approved is not None:
        parts.append(f"{decision.amount_approved:,.2f} {decision.currency} approved")
    if decision.milestone_id:
        parts.append(f"for “{decision.milestone.name}”")
    if decision.period_start and decision.period_end:
        parts.append(f"from {decision.period_start:%-d %b %Y} to {decision.period_end:%-d %b %Y}")
    text = " ".join(parts)
    if decision.conditions:
        conditions = "; ".join(c.strip() for c in decision.conditions.splitlines() if c.strip())
        text = f"{text}. Conditions: {conditions}" if text else f"Conditions: {conditions}"
    if decision.note:
        text = f"{text}. {decision.note}" if text else decision.note
    return _end(text)


def _end(text):
    text = text.strip()
    return text if not text or text[-1] in ".!?" else f"{text}."


def intake_review_of(intake):
    """The latest agenda item `intake` is on, in words, or None when it is on no agenda yet (or
    was taken off it, decided on the intake page)."""
    item = (
        AgendaItem.objects.filter(intake=intake)
        .exclude(status__in=[AgendaItemStatus.CARRIED_OVER, AgendaItemStatus.WITHDRAWN])
        .select_related("meeting__council__chair", "decision__milestone")
        .order_by("-meeting__scheduled_for", "-id")
        .first()
    )
    if item is None:
        return None
    meeting = item.meeting
    decision = getattr(item, "decision", None)
    return CouncilReview(
        council=meeting.council.name,
        meeting=meeting.get_kind_display(),
        scheduled_for=meeting.scheduled_for,
        chair=person_name(meeting.council.chair) if meeting.council.chair_id else "",
        state=meeting.get_state_display(),
        decides=f"The council will decide {DECIDES}.",
        url=reverse("council:item_detail", args=[item.pk]),
        decision=decision.get_outcome_display() if decision is not None else "",
        decision_detail=_decision_words(decision, item) if decision is not None else "",
        carried_over=item.carried_from_id is not None and meeting.state != MeetingState.CLOSED,
        open_on_agenda=item.status == AgendaItemStatus.OPEN,
    )


# An intake's item still waiting for the council: open, or deferred and not carried yet.
_WAITING = Q(status=AgendaItemStatus.OPEN) | Q(
    status=AgendaItemStatus.DECIDED, decision__outcome=VoteChoice.DEFER
)


def _taken_off_words(outcome, actor, when):
    by = person_name(actor) if actor is not None else "the system"
    if outcome == "withdrawn":
        return f"Withdrawn on the intake page by {by} on {when:%-d %b %Y}: taken off the agenda."
    return f"Decided on the intake page by {by} on {when:%-d %b %Y} ({outcome}): taken off the agenda."


def intake_taken_off(sender, *, intake, actor, outcome, **kwargs):
    """Receiver of intake's `intake_decided`: an intake accepted, rejected or withdrawn outside the
    council leaves every agenda it still waits on. Its open (or deferred, not yet carried) items
    become "withdrawn" with the words the meeting page shows, each audited, in the transaction of
    the intake's own write; the agenda builder then no longer carries them over."""
    items = list(
        AgendaItem.objects.select_for_update(of=("self",))
        .filter(_WAITING, intake=intake, use_case__isnull=True)
        .order_by("id")
    )
    if not items:
        return
    note = _taken_off_words(outcome, actor, timezone.now())
    for item in items:
        before = {"status": item.status, "closed_note": item.closed_note}
        item.status, item.closed_note = AgendaItemStatus.WITHDRAWN, note
        item.save(update_fields=["status", "closed_note", "updated_at"])
        audit_record(
            actor=actor,
            action="agenda_item.withdraw",
            obj=item,
            before=before,
            after={
                "status": item.status,
                "closed_note": note,
                "intake": intake.pk,
                "intake_outcome": outcome,
                "meeting": item.meeting_id,
            },
        )


def register_history_labels():
    register_actions(
        {
            "intake.create": "Draft created",
            "intake.update": "Draft changed",
            "intake.submit": "Submitted",
            "intake.triage": "Triaged",
            "intake.accept": "Accepted: registered as a use case",
            "intake.reject": "Rejected",
            "intake.withdraw": "Withdrawn",
            "agenda.build": "Agenda built",
            "agenda_item.carry_over": "Carried over to the next meeting",
            "agenda_item.withdraw": "Taken off the agenda: decided on the intake page",
            "meeting.schedule": "Meeting scheduled",
            "meeting.publish": "Agenda published",
            "meeting.start": "Meeting started",
            "meeting.close": "Meeting closed",
            "vote.cast": "Vote cast",
            "vote.change": "Vote changed",
            "decision.record": "Council decision recorded",
            "funding_request.create": "Funding request drafted",
            "funding_request.update": "Funding request changed",
            "funding_request.submit": "Funding requested",
            "funding_request.withdraw": "Funding request withdrawn",
        }
    )
