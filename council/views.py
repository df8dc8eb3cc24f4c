"""The council's pages: its home with the next agenda, meetings and their chair's buttons, the
owners' view of their items, funding requests, a use case's history with the council, an agenda
item's page with its voting card, and a meeting's output (the approved spend list, as CSV too).

Every write is a POST that calls one service of council.services; a refusal the user can act on
(a conflict, a missing quorum, a bad field) comes back as a message, never a 500.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from aifinops.core import permissions
from aifinops.core.exceptions import ConflictError, Unprocessable
from aifinops.core.spreadsheet import csv_response, safe_text
from aifinops.core.views import section_required
from portfolio import selectors as portfolio_selectors
from portfolio.choices import Stage
from portfolio.gates import rules as gates
from showback import charts as spend_charts

from . import charts, selectors, services
from .forms import DecisionForm, FundingRequestForm, MeetingCloseForm, VoteForm, add_service_errors
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
    meetings = selectors.meeting_list(user=request.user, council=council)
    return render(
        request,
        "council/index.html",
        {
            "council": council,
            "councils": councils,
            "meeting": meeting,
            "rows": selectors.agenda_rows(meeting=meeting) if meeting is not None else [],
            "recent": meetings[:8],
            "meetings_total": len(meetings),
            "can_build": permissions.can_build_agenda(request.user, council),
            "seat": selectors.council_seat(user=request.user, council=council),
        },
    )


@section_required("council")
def meeting_list(request):
    """Every meeting, or one council's (?council=<id>, as its home's "See all" asks)."""
    wanted = request.GET.get("council")
    council = next((c for c in selectors.council_list() if str(c.pk) == wanted), None) if wanted else None
    if wanted is not None and council is None:
        return HttpResponseBadRequest(
            "“council” names no council: give the id of one, or leave it out for every meeting.",
            content_type="text/plain; charset=utf-8",
        )
    return render(
        request,
        "council/meeting_list.html",
        {"meetings": selectors.meeting_list(user=request.user, council=council), "council": council},
    )


def meeting_context(request, meeting, *, close_form=None):
    standing = selectors.standing_sections(meeting=meeting, user=request.user)
    chart = None
    if standing is not None and standing["kind"] == MeetingKind.MONTHLY_OPERATING_REVIEW:
        chart = spend_charts.monthly_trend_chart(standing["trend"])
    elif standing is not None:
        chart = charts.allocation_chart(standing["allocation"], currency=standing["currency"])
    return {
        "meeting": meeting,
        "council": meeting.council,
        "rows": selectors.agenda_rows(meeting=meeting),
        "seats": selectors.active_seats(council=meeting.council),
        "can_manage": permissions.can_manage_meeting(request.user, meeting),
        "can_build": meeting.state == MeetingState.DRAFT
        and permissions.can_build_agenda(request.user, meeting.council),
        "close_form": close_form or MeetingCloseForm(),
        "close_preview": services.meeting_close_preview(meeting=meeting)
        if meeting.state == MeetingState.IN_SESSION and permissions.can_manage_meeting(request.user, meeting)
        else None,
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
    """Close the meeting. With items undecided the chair first sees which carry over and to which
    meeting, and closes with `confirm`; without it the page comes back with that step open."""
    meeting = selectors.meeting_get(user=request.user, pk=pk)
    form = MeetingCloseForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.meeting_close(
                actor=request.user, meeting=meeting, minutes=data["minutes"], confirm=data["confirm"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        except (ConflictError, Unprocessable) as exc:
            messages.error(request, str(exc))
            return redirect("council:meeting_detail", pk=meeting.pk)
        else:
            messages.success(
                request,
                "Meeting closed: the minutes are written and undecided items carry over to the next meeting.",
            )
            return redirect("council:meeting_detail", pk=meeting.pk)
    return render(
        request,
        "council/meeting_detail.html",
        meeting_context(request, meeting, close_form=form),
        status=400,
    )


def my_items(request):
    """Where the owner's items stand: their use cases, funding requests and agenda items."""
    return render(
        request,
        "council/my_items.html",
        {
            "use_cases": selectors.owned_use_cases(user=request.user),
            "requests": selectors.owned_funding_requests(user=request.user),
            "rows": selectors.owned_agenda_items(user=request.user),
            "can_see_council": permissions.can_access_section(request.user, "council"),
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
            **selectors.use_case_council_history(use_case=use_case),
        },
    )


def funding_request_create(request, key):
    """An owner asks the council for the next milestone's funding, and only that."""
    use_case = portfolio_selectors.use_case_get(user=request.user, key=key)
    permissions.require(request.user, permissions.REQUEST_FUNDING, use_case)
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


# An agenda item's page: its review pack, and the voting card (htmx) where members vote and the
# chair records the decision. The voting card answers htmx with itself re-rendered (the tally, the
# quorum, the form with its errors, or the conflict when another decision won the race) and a
# plain post with a redirect.


def voting_context(request, item, *, vote_form=None, decision_form=None, notice=None, problem=None):
    ballot = selectors.ballot(item=item, user=request.user)
    if vote_form is None and ballot.can_vote:
        mine = ballot.my_vote
        vote_form = VoteForm(
            initial={"choice": mine.choice, "comment": mine.comment, "conditions": mine.conditions}
            if mine
            else None
        )
    if decision_form is None and ballot.can_decide:
        decision_form = DecisionForm()
    return {
        "item": item,
        "ballot": ballot,
        "vote_form": vote_form if ballot.can_vote else None,
        "decision_form": decision_form if ballot.can_decide else None,
        "notice": notice,
        "problem": problem,
    }


def item_detail(request, pk):
    """The review pack (frozen once the agenda is published, live before) and the voting card.
    Council members and the chair, finance, platform admins, and the use case's owners read it;
    htmx asks for the voting card alone, to refresh the tally."""
    item = selectors.agenda_item_get(user=request.user, pk=pk)
    if request.htmx:
        return render(request, "council/partials/_voting.html", voting_context(request, item))
    pack = selectors.item_review_pack(item=item)
    return render(
        request,
        "council/item_detail.html",
        {
            **voting_context(request, item),
            "pack": pack,
            "frozen": item.review_pack is not None,
            "spend_chart": charts.spend_vs_expected_chart(pack["spend"]) if "spend" in pack else None,
            "value_chart": charts.value_vs_expected_chart(pack["value"]) if "value" in pack else None,
            "can_see_council": permissions.can_access_section(request.user, "council"),
        },
    )


def _answer(request, item, *, success, **context):
    if request.htmx:
        item = selectors.agenda_item_get(user=request.user, pk=item.pk)
        return render(request, "council/partials/_voting.html", voting_context(request, item, **context))
    problem = context.get("problem")
    errors = [
        e
        for form in (context.get("vote_form"), context.get("decision_form"))
        if form is not None
        for errs in form.errors.values()
        for e in errs
    ]
    for message in ([problem] if problem else []) + errors:
        messages.error(request, message)
    if not problem and not errors:
        messages.success(request, success)
    return redirect("council:item_detail", pk=item.pk)


@require_POST
def vote_cast(request, pk):
    item = selectors.agenda_item_get(user=request.user, pk=pk)
    form = VoteForm(request.POST)
    problem = None
    if form.is_valid():
        try:
            services.vote_cast(actor=request.user, item=item, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        except ConflictError as exc:
            problem = str(exc)
        else:
            return _answer(request, item, success="Vote recorded.", notice="Your vote is recorded.")
    return _answer(request, item, success="", vote_form=form, problem=problem)


@require_POST
def decision_record(request, pk):
    item = selectors.agenda_item_get(user=request.user, pk=pk)
    form = DecisionForm(request.POST)
    problem = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.decision_record(
                actor=request.user,
                item=item,
                outcome=data["outcome"],
                amount=data["amount"],
                conditions=data["conditions"],
                note=data["note"],
                milestone_name=data["milestone_name"],
                period_start=data["period_start"],
                period_end=data["period_end"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        except (ConflictError, Unprocessable) as exc:
            problem = str(exc)
        else:
            return _answer(request, item, success="Decision recorded.", notice="Decision recorded.")
    return _answer(request, item, success="", decision_form=form, problem=problem)


# The output of a meeting: the approved spend list (per use case: amount, milestone, conditions),
# every decision, the minutes; as a printable page and as CSV.

CSV_COLUMNS = [
    ("use_case", lambda r: r.use_case.key),
    ("use_case_name", lambda r: r.use_case.name),
    ("team", lambda r: r.use_case.team.name),
    ("decision", lambda r: r.decision.get_outcome_display()),
    ("amount", lambda r: "" if r.amount is None else f"{r.amount:.2f}"),
    ("currency", lambda r: r.currency),
    ("milestone", lambda r: r.milestone),
    ("target_stage", lambda r: Stage(r.target_stage).label if r.target_stage else ""),
    ("period_start", lambda r: r.period_start.isoformat() if r.period_start else ""),
    ("period_end", lambda r: r.period_end.isoformat() if r.period_end else ""),
    ("conditions", lambda r: r.conditions),
    (
        "recorded_by",
        lambda r: r.decision.recorded_by.get_full_name() or r.decision.recorded_by.get_username(),
    ),
    ("recorded_at", lambda r: r.decision.recorded_at.isoformat()),
]
# The first column says what a line is: an approval, or one of the page's totals (one line per
# currency, as currencies are never added together), in the approvals' own columns.
CSV_HEADER = ["row", *(name for name, _ in CSV_COLUMNS)]


def _total_line(kind, currency, amount, **cells):
    cells = {**cells, "amount": f"{amount:.2f}", "currency": currency}
    return [kind, *(cells.get(name, "") for name, _ in CSV_COLUMNS)]


def approved_spend_csv_lines(rows):
    """The approvals, then the totals by team, by period and overall, like the page."""
    for r in rows:
        yield ["approval", *(get(r) for _, get in CSV_COLUMNS)]
    totals = selectors.approved_spend_totals_by(rows)
    for t in totals["by_team"]:
        for currency, amount in sorted(t.totals.items()):
            yield _total_line("total by team", currency, amount, team=t.label)
    for t in totals["by_period"]:
        dates = {"period_start": t.start.isoformat(), "period_end": t.end.isoformat()} if t.start else {}
        for currency, amount in sorted(t.totals.items()):
            yield _total_line("total by period", currency, amount, **dates)
    for currency, amount in sorted(selectors.approved_spend_totals(rows).items()):
        yield _total_line("total", currency, amount)


def approved_spend_csv_response(meeting):
    """The meeting's approved spend list as a CSV download, every text cell safe from formula
    injection: the page's link and the API's endpoint answer with this."""
    rows = selectors.approved_spend_list(meeting=meeting)
    return csv_response(
        CSV_HEADER,
        ([safe_text(cell) for cell in line] for line in approved_spend_csv_lines(rows)),
        filename=f"approved-spend-{meeting.scheduled_for:%Y-%m-%d}-{meeting.pk}.csv",
    )


@section_required("council")
def meeting_output(request, pk):
    """The approved spend list, decisions and minutes of a meeting, laid out to print."""
    meeting = selectors.meeting_get(user=request.user, pk=pk)
    return render(
        request,
        "council/meeting_output.html",
        {"meeting": meeting, **selectors.meeting_outcome(meeting=meeting)},
    )


@section_required("council")
def approved_spend_csv(request, pk):
    return approved_spend_csv_response(selectors.meeting_get(user=request.user, pk=pk))
