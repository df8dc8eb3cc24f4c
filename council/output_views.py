"""The output of a meeting: the approved spend list (per use case: amount, milestone, conditions),
every decision, the minutes; as a printable page and as CSV."""

from django.shortcuts import render

from aifinops.core.spreadsheet import csv_response, safe_text
from aifinops.core.views import section_required

from . import page_selectors, selectors

CSV_COLUMNS = [
    ("use_case", lambda r: r.use_case.key),
    ("use_case_name", lambda r: r.use_case.name),
    ("team", lambda r: r.use_case.team.name),
    ("decision", lambda r: r.outcome),
    ("amount", lambda r: "" if r.amount is None else f"{r.amount:.2f}"),
    ("currency", lambda r: r.currency),
    ("milestone", lambda r: r.milestone),
    ("target_stage", lambda r: r.target_stage),
    ("period_start", lambda r: r.period_start.isoformat() if r.period_start else ""),
    ("period_end", lambda r: r.period_end.isoformat() if r.period_end else ""),
    ("conditions", lambda r: r.conditions),
    ("recorded_by", lambda r: r.decision.recorded_by.get_username()),
    ("recorded_at", lambda r: r.decision.recorded_at.isoformat()),
]


def approved_spend_csv_response(meeting):
    """The meeting's approved spend list as a CSV download, every text cell safe from formula
    injection: the page's link and the API's endpoint answer with this."""
    rows = selectors.approved_spend_list(meeting=meeting)
    return csv_response(
        [name for name, _ in CSV_COLUMNS],
        ([safe_text(get(r)) for _, get in CSV_COLUMNS] for r in rows),
        filename=f"approved-spend-{meeting.scheduled_for:%Y-%m-%d}-{meeting.pk}.csv",
    )


@section_required("council")
def meeting_output(request, pk):
    """The approved spend list, decisions and minutes of a meeting, laid out to print."""
    meeting = selectors.meeting_get(user=request.user, pk=pk)
    return render(
        request,
        "council/meeting_output.html",
        {"meeting": meeting, **page_selectors.meeting_outcome(meeting=meeting)},
    )


@section_required("council")
def approved_spend_csv(request, pk):
    return approved_spend_csv_response(selectors.meeting_get(user=request.user, pk=pk))
