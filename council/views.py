"""The council's pages: its home with the next agenda, meetings and their chair's buttons, the
owners' view of their items, funding requests and a use case's history with the council.

Every write is a POST that calls one service of council.services; a refusal the user can act on
(a conflict, a missing quorum, a bad field) comes back as a message, never a 500.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from aifinops.core import permissions
from aifinops.core.exceptions import ConflictError, Unprocessable
from aifinops.core.views import section_required
from portfolio import gates
from portfolio import selectors as portfolio_selectors
from portfolio.choices import Stage

from . import charts, page_selectors, selectors, services
from .forms import FundingRequestForm, MeetingCloseForm, add_service_errors
from .models import MeetingKind, MeetingState


def _pick(councils, wanted):
    """The council asked for by id, else the first one (there is usually one)."""
    return next((c for c in councils if str(c.pk) == str(wanted or "")), councils[0] if councils else None)


@section_required("council")
def index(request):
    """The council home: who sits on it, how often it meets, and the next meeting's agenda."""
    councils = selectors.council_list()
    council = _pick(councils, request.GET.get("council"))
    if council is None:
        return render(request, "council/index.html", {"council": None, "councils": []})
    meeting = selectors.next_meeting(council=council)
    if meeting is not None:
        meeting.council = council
    return render(
        request,
        "council/index.html",
        {
            "council": council,
            "councils": councils,
            "meeting": meeting,
            "rows": page_selectors.agenda_rows(meeting=meeting) if meeting is not None else [],
            "recent": selectors.meeting_list(user=request.user, council=council)[:8],
            "can_build": permissions.can_build_agenda(request.user, council),
            "seat": selectors.council_seat(user=request.user, council=council),
        },
    )


@section_required("council")
def meeting_list(request):
    return render(
        request, "council/meeting_list.html", {"meetings": selectors.meeting_list(user=request.user)}
    )


def meeting_context(request, meeting, *, close_form=None):
    standing = page_selectors.standing_sections(meeting=meeting, user=request.user)
    chart = None
    if standing is not None and standing["kind"] == MeetingKind.MONTHLY_OPERATING_REVIEW:
        chart = charts.spend_trend_chart(standing["trend"])
    elif standing is not None:
        chart = charts.allocation_chart(standing["allocation"])
    return {
        "meeting": meeting,
        "council": meeting.council,
        "rows": page_selectors.agenda_rows(meeting=meeting),
        "can_manage": permissions.can_manage_meeting(request.user, meeting),
        "can_build": meeting.state == MeetingState.DRAFT
        and permissions.can_build_agenda(request.user, meeting.council),
        "close_form": close_form or MeetingCloseForm(),
        "standing": standing,
        "standing_chart": chart,
    }


@section_required("council")
def meeting_detail(request, pk):
    meeting = selectors.meeting_get(user=request.user, pk=pk)
    return render(request, "council/meeting_detail.html", meeting_context(request, meeting))


def _transition(request, meeting, run, success):
    try:
        run()
    except (ConflictError, Unprocessable, ValidationError) as exc:
        messages.error(request, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
    else:
        messages.success(request, success)
    return redirect("council:meeting_detail", pk=meeting.pk)


@require_POST
@section_required("council")
def agenda_build(request, pk=None):
    """Build the agenda of a draft meeting, or (from the home page) of the council's next one."""
    if pk is not None:
        meeting = selectors.meeting_get(user=request.user, pk=pk)
        council = meeting.council
    else:
        meeting, council = None, _pick(selectors.council_list(), request.POST.get("council"))
        if council is None:
            raise Http404("No council is set up yet.")
    try:
        result = services.agenda_build(actor=request.user, meeting=meeting, council=council)
    except ConflictError as exc:
        messages.error(request, str(exc))
        return redirect("council:meeting_detail", pk=meeting.pk) if meeting else redirect("council:index")
    if result.changed:
        messages.success(
            request,
            f"Agenda built: {len(result.created)} new items, {len(result.extended)} with new reasons, "
            f"{len(result.carried)} carried over.",
        )
    else:
        messages.info(request, "Agenda built: nothing new needs the council since the last build.")
    return redirect("council:meeting_detail", pk=result.meeting.pk)


@require_POST
@section_required("council")
def meeting_publish(request, pk):
    meeting = selectors.meeting_get(user=request.user, pk=pk)
    return _transition(
        request,
        meeting,
        lambda: services.meeting_publish(actor=request.user, meeting=meeting),
        "Agenda published: the review packs are frozen, and the members and owners have been told.",
    )


@require_POST
@section_required("council")
def meeting_start(request, pk):
    meeting = selectors.meeting_get(user=request.user, pk=pk)
    return _transition(
        request,
        meeting,
        lambda: services.meeting_start(actor=request.user, meeting=meeting),
        "The meeting is in session: members can vote.",
    )


@require_POST
@section_required("council")
def meeting_close(request, pk):
    meeting = selectors.meeting_get(user=request.user, pk=pk)
    form = MeetingCloseForm(request.POST)
    if not form.is_valid():
        return render(
            request, "council/meeting_detail.html", meeting_context(request, meeting, close_form=form)
        )
    return _transition(
        request,
        meeting,
        lambda: services.meeting_close(
            actor=request.user, meeting=meeting, minutes=form.cleaned_data["minutes"]
        ),
        "Meeting closed: the minutes are written and undecided items carry over to the next meeting.",
    )


def my_items(request):
    """Where the owner's items stand: their use cases, funding requests and agenda items."""
    return render(
        request,
        "council/my_items.html",
        {
            "use_cases": page_selectors.owned_use_cases(user=request.user),
            "requests": page_selectors.owned_funding_requests(user=request.user),
            "rows": page_selectors.owned_agenda_items(user=request.user),
        },
    )


def use_case_history(request, key):
    """A use case's history with the council: its decision log, agenda items and funding requests.
    Whoever may see the use case may read it."""
    use_case = portfolio_selectors.use_case_get(user=request.user, key=key)
    return render(
        request,
        "council/use_case_history.html",
        {
            "use_case": use_case,
            "can_request": permissions.can_request_funding(request.user, use_case)
            and gates.next_stage(use_case) is not None,
            **page_selectors.use_case_council_history(use_case=use_case),
        },
    )


def funding_request_create(request, key):
    """An owner asks the council for the next milestone's funding, and only that."""
    use_case = portfolio_selectors.use_case_get(user=request.user, key=key)
    if not permissions.can_request_funding(request.user, use_case):
        raise PermissionDenied(
            "Only the use case's business or technical owner can ask the council for funding."
        )
    next_stage = gates.next_stage(use_case)
    form = FundingRequestForm(request.POST or None, use_case=use_case, initial={"target_stage": next_stage})
    if request.method == "POST" and form.is_valid():
        try:
            services.funding_request_submit(
                actor=request.user, use_case=use_case, values=form.service_values(next_stage=next_stage)
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        except ConflictError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                f"Funding request sent: {use_case.name} comes before the council at its next agenda build.",
            )
            return redirect("council:use_case_history", key=use_case.key)
    return render(
        request,
        "council/funding_request_form.html",
        {
            "use_case": use_case,
            "form": form,
            "next_stage": next_stage,
            "next_stage_label": Stage(next_stage).label if next_stage else "",
        },
    )
