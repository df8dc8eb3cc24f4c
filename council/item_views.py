"""An agenda item's page: its review pack, and the voting card (htmx) where members vote and the
chair records the decision.

The voting card answers htmx with itself re-rendered (the tally, the quorum, the form with its
errors, or the conflict when another decision won the race) and a plain post with a redirect.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from aifinops.core.exceptions import ConflictError, Unprocessable

from . import charts, page_selectors, selectors, services
from .forms import DecisionForm, VoteForm, add_service_errors


def voting_context(request, item, *, vote_form=None, decision_form=None, notice=None, problem=None):
    ballot = page_selectors.ballot(item=item, user=request.user)
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
            "spend_chart": charts.spend_vs_expected_chart(pack["spend"]),
            "value_chart": charts.value_vs_expected_chart(pack["value"]),
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
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        except (ConflictError, Unprocessable) as exc:
            problem = str(exc)
        else:
            return _answer(request, item, success="Decision recorded.", notice="Decision recorded.")
    return _answer(request, item, success="", decision_form=form, problem=problem)
