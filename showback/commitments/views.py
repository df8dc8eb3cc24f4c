"""The commitments pages: the list with each commitment's use to date, its detail (months, coverage,
saving, amortisation per use case), entry by hand and the FOCUS 1.3 import.

Finance analysts and platform admins only: commitments are bought for the whole company."""

from django.contrib import messages
from django.shortcuts import redirect, render

from aifinops.core import permissions

from . import charts, selectors, services
from .forms import CommitmentForm, CommitmentImportForm
from .importer import CommitmentFileError, rows_from_csv


def _list_page(request, *, form=None, import_form=None, problems=None, status=200):
    return render(
        request,
        "showback/commitments/list.html",
        {
            "views": selectors.commitment_list(),
            "can_record": permissions.RECORD_COMMITMENTS(request.user),
            "form": form or CommitmentForm(),
            "import_form": import_form or CommitmentImportForm(),
            "problems": problems,
        },
        status=status,
    )


def commitment_list(request):
    permissions.require(request.user, permissions.SEE_COMMITMENTS)
    return _list_page(request)


def commitment_create(request):
    permissions.require(request.user, permissions.RECORD_COMMITMENTS)
    if request.method != "POST":
        return redirect("showback:commitment_list")
    form = CommitmentForm(request.POST)
    if not form.is_valid():
        return _list_page(request, form=form, status=400)
    data = dict(form.cleaned_data)
    models_covered = data.pop("models_covered", [])
    commitment = services.commitment_create(actor=request.user, models_covered=models_covered, **data)
    messages.success(request, f"Recorded the commitment {commitment.name}.")
    return redirect("showback:commitment_detail", pk=commitment.pk)


def commitment_import(request):
    permissions.require(request.user, permissions.RECORD_COMMITMENTS)
    if request.method != "POST":
        return redirect("showback:commitment_list")
    form = CommitmentImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _list_page(request, import_form=form, status=400)
    upload = form.cleaned_data["file"]
    try:
        result = services.commitments_import(
            actor=request.user,
            rows=rows_from_csv(upload),
            provider=form.cleaned_data["provider"],
            source_name=upload.name,
        )
    except CommitmentFileError as exc:
        form.add_error("file", str(exc))
        return _list_page(request, import_form=form, problems=exc, status=400)
    messages.success(
        request, f"Imported the file: {result['created']} new commitments, {result['updated']} updated."
    )
    return redirect("showback:commitment_list")


def commitment_detail(request, pk):
    permissions.require(request.user, permissions.SEE_COMMITMENTS)
    view = selectors.commitment_get(pk=pk)
    rows, waste = view.amortised_rows()
    return render(
        request,
        "showback/commitments/detail.html",
        {
            "v": view,
            "c": view.commitment,
            "amortised": rows,
            "waste": waste,
            "chart": charts.utilisation_chart(view),
        },
    )
