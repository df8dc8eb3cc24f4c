"""A meeting's life: published (review packs frozen, members and owners told), in session, closed
(undecided and deferred items carried to the next draft, minutes written). And the thresholds."""

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from aifinops.core import permissions
from aifinops.core.audit import audit_record, snapshot
from aifinops.core.exceptions import ConflictError
from aifinops.core.notifications import notify
from aifinops.core.services import audited_save

from ..intakes import DECIDES, intake_people, meeting_words
from ..models import AgendaItem, AgendaItemStatus, CouncilMember, Meeting, ReviewThresholds, VoteChoice
from ..review_packs import item_pack_build
from ..triggers import thresholds_for
from .agenda import WAITING, _create_meeting, carry_over, next_draft, next_meeting_time, undecided_items

THRESHOLD_FIELDS = (
    "spend_threshold",
    "currency",
    "over_budget_pct",
    "missed_milestones",
    "quality_floor",
    "new_service_days",
    "anomaly_open_days",
    "missed_criteria_reviews",
    "success_criteria_pct",
    "experiment_limit",
)


def _locked(meeting, actor, verb):
    if not permissions.can_manage_meeting(actor, meeting):
        raise PermissionDenied(f"Only the council's chair can {verb} a meeting.")
    seen = meeting.state
    meeting = (
        Meeting.objects.select_for_update(of=("self",)).select_related("council__chair").get(pk=meeting.pk)
    )
    if meeting.state != seen:
        raise ConflictError(f"The {meeting} is {meeting.get_state_display().lower()} now: reload the page.")
    return meeting


def _transition(meeting, name):
    try:
        getattr(meeting, name)()
    except TransitionNotAllowed as exc:
        raise ConflictError(
            f"The {meeting} is {meeting.get_state_display().lower()}: it cannot be {name}ed."
        ) from exc


def _save(meeting):
    try:
        meeting.save()
    except ConcurrentTransition as exc:
        raise ConflictError(f"The {meeting} changed meanwhile: reload the page.") from exc


def _members(council):
    return [
        seat.user
        for seat in CouncilMember.objects.filter(council=council, is_active=True).select_related("user")
    ]


@transaction.atomic
def meeting_publish(*, actor, meeting, now=None):
    """Publish the agenda: each item's review pack is frozen as it stands now, and the members and
    the owners of the use cases on the agenda are told."""
    meeting = _locked(meeting, actor, "publish")
    before = snapshot(meeting, ["state", "published_at"])
    _transition(meeting, "publish")
    now = now or timezone.now()
    thresholds = thresholds_for(meeting.council)
    items = list(
        meeting.items.select_related(
            "meeting__council",
            "use_case__team",
            "use_case__business_owner",
            "use_case__technical_owner",
            "intake__team",
            "intake__requester",
            "intake__business_owner",
            "intake__technical_owner",
        )
    )
    for item in items:
        item.review_pack = item_pack_build(item=item, thresholds=thresholds, now=now)
    AgendaItem.objects.bulk_update(items, ["review_pack"])
    meeting.published_at = now
    _save(meeting)
    audit_record(
        actor=actor,
        action="meeting.publish",
        obj=meeting,
        before=before,
        after={**snapshot(meeting, ["state", "published_at"]), "items": [i.pk for i in items]},
    )
    when = f"{meeting.scheduled_for:%d %b %Y %H:%M} UTC"
    notify(
        recipients=_members(meeting.council),
        subject=f"Agenda published: {meeting.get_kind_display()} on {when}",
        body="\n".join(f"{i.position}. {i.title}" for i in items) or "No use case needs review.",
    )
    for item in items:
        if item.is_intake_review:
            notify(
                recipients=intake_people(item.intake),
                subject=f"{item.intake.reference} {item.intake.name}: the agenda of {when} is published",
                body=f"It will be reviewed at the {meeting_words(meeting)}. "
                f"The council will decide {DECIDES}.",
                url=item.intake.get_absolute_url(),
            )
            continue
        notify(
            recipients=[item.use_case.business_owner, item.use_case.technical_owner],
            subject=f"{item.use_case.name} is on the council's agenda on {when}",
            body="\n".join(f"- {r['label']}: {r['detail']}" for r in item.reasons),
            url=item.use_case.get_absolute_url(),
        )
    return meeting


@transaction.atomic
def meeting_start(*, actor, meeting, now=None):
    meeting = _locked(meeting, actor, "start")
    before = snapshot(meeting, ["state", "started_at"])
    _transition(meeting, "start")
    meeting.started_at = now or timezone.now()
    _save(meeting)
    audit_record(
        actor=actor,
        action="meeting.start",
        obj=meeting,
        before=before,
        after=snapshot(meeting, ["state", "started_at"]),
    )
    return meeting


def _amount(value, currency):
    return f"{Decimal(value):,.2f} {currency}"


def _name(user):
    return (user.get_full_name() or user.get_username()) if user is not None else "-"


def minutes_record(meeting, items, carried_to):
    """The decisions of the meeting in words: what the minutes keep whatever the chair adds."""
    lines = [
        f"{meeting.get_kind_display()}, {meeting.scheduled_for:%d %b %Y}. "
        f"Chair: {_name(meeting.council.chair)}."
    ]
    decided = [i for i in items if hasattr(i, "decision")]
    if decided:
        lines.append("Decisions:")
    for item in decided:
        decision = item.decision
        text = f"{item.position}. {item.title}: {decision.get_outcome_display()}"
        if decision.amount_approved is not None:
            text += f", {_amount(decision.amount_approved, decision.currency)} approved"
            if decision.milestone_id:
                text += f" for “{decision.milestone.name}”"
            if decision.period_start and decision.period_end:
                text += f" from {decision.period_start:%-d %b %Y} to {decision.period_end:%-d %b %Y}"
        if decision.conditions:
            text += "; conditions: " + "; ".join(
                c.strip() for c in decision.conditions.splitlines() if c.strip()
            )
        votes = "; ".join(
            f"{_name(v.member.user)}, {v.get_choice_display().lower()}" for v in item.votes.all()
        )
        text += f" (votes: {votes})." if votes else "."
        lines.append(text)
    taken_off = [i for i in items if i.status == AgendaItemStatus.WITHDRAWN]
    for item in taken_off:
        lines.append(f"{item.title}: {item.closed_note}")
    waiting = [
        i
        for i in items
        if i.status != AgendaItemStatus.WITHDRAWN
        and (not hasattr(i, "decision") or i.decision.outcome == VoteChoice.DEFER)
    ]
    if waiting:
        where = (
            f"the {carried_to.get_kind_display().lower()} of {carried_to.scheduled_for:%-d %b %Y}"
            if carried_to is not None
            else "the next meeting"
        )
        lines.append(f"Carried over to {where}: " + ", ".join(i.title for i in waiting) + ".")
    return "\n".join(lines)


@dataclass(frozen=True)
class ClosePreview:
    """What closing a meeting will do: the items that carry over, and to which meeting."""

    waiting: list  # the meeting's items without a decision, or deferred, in agenda order
    target: Meeting | None  # the council's next draft meeting, if there is one
    target_when: object  # when the items will be reviewed: that meeting's time, or the next per the cadence

    @property
    def asks(self):
        return bool(self.waiting)

    def words(self):
        n = len(self.waiting)
        where = (
            f"the {self.target.get_kind_display().lower()} of {self.target_when:%-d %b %Y}"
            if self.target
            else f"the next meeting, on {self.target_when:%-d %b %Y} per the council's cadence"
        )
        return (
            f"{n} item{'s have' if n != 1 else ' has'} no decision and will carry over to {where}: "
            + ", ".join(i.title for i in self.waiting)
            + ". Confirm to close the meeting."
        )


def meeting_close_preview(*, meeting):
    """What meeting_close would do now: the page's confirmation step and the service's check read it."""
    waiting = list(
        meeting.items.filter(WAITING).select_related("use_case", "intake").order_by("position", "id")
    )
    target = next_draft(meeting.council) if waiting else None
    when = target.scheduled_for if target else (next_meeting_time(meeting.council) if waiting else None)
    return ClosePreview(waiting=waiting, target=target, target_when=when)


@transaction.atomic
def meeting_close(*, actor, meeting, minutes="", confirm=False, now=None):
    """Close the meeting: items without a decision, and deferred ones, carry over to the next draft
    meeting (scheduled per the cadence if there is none); the minutes are written.

    With items waiting it needs `confirm`: the caller has shown which items carry over and to which
    meeting (meeting_close_preview); without it a ValidationError names `confirm` and says so."""
    meeting = _locked(meeting, actor, "close")
    before = snapshot(meeting, ["state", "closed_at"])
    _transition(meeting, "close")
    if not confirm:
        preview = meeting_close_preview(meeting=meeting)
        if preview.asks:
            raise ValidationError({"confirm": preview.words()})
    meeting.closed_at = now or timezone.now()
    _save(meeting)
    waiting = undecided_items([meeting.pk])
    target = None
    if waiting:
        target = next_draft(meeting.council) or _create_meeting(actor=actor, council=meeting.council)
        carry_over(actor=actor, items=waiting, meeting=target)
    items = list(
        meeting.items.select_related("use_case", "intake", "decision__milestone")
        .prefetch_related("votes__member__user")
        .order_by("position")
    )
    record = minutes_record(meeting, items, target)
    meeting.minutes = f"{minutes.strip()}\n\n{record}" if (minutes or "").strip() else record
    meeting.save(update_fields=["minutes", "updated_at"])
    audit_record(
        actor=actor,
        action="meeting.close",
        obj=meeting,
        before=before,
        after={
            **snapshot(meeting, ["state", "closed_at"]),
            "carried": [i.pk for i in waiting],
            "to": target.pk if target else None,
        },
    )
    notify(
        recipients=_members(meeting.council),
        subject=f"Minutes: {meeting.get_kind_display()} on {meeting.scheduled_for:%d %b %Y}",
        body=meeting.minutes,
    )
    return meeting


@transaction.atomic
def review_thresholds_update(*, actor, council, values):
    """Set the council's review thresholds from validated values: its chair or a platform admin."""
    permissions.require(actor, permissions.SET_REVIEW_THRESHOLDS, council)
    unknown = set(values) - set(THRESHOLD_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "Not a review threshold."))
    thresholds, _ = ReviewThresholds.objects.select_for_update().get_or_create(council=council)
    return audited_save(
        thresholds,
        actor=actor,
        values=values,
        action="review_thresholds.update",
        fields=THRESHOLD_FIELDS,
        prepare=_thresholds_currency,
        validate=_thresholds_clean,
    )


def _thresholds_currency(thresholds):
    thresholds.currency = (thresholds.currency or "USD").upper()


def _thresholds_clean(thresholds):
    try:
        thresholds.full_clean()
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from exc
