"""The upload door to spend imports: a page with a progress bar, then a summary."""

import csv
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from aifinops.core import permissions
from aifinops.core.spreadsheet import safe_text

from ..models import ImportStatus
from . import selectors
from .forms import SpendUploadForm
from .services import (
    import_progress,
    spend_import_cancel,
    spend_import_create,
    spend_import_retry,
    spend_import_undo,
    upload_too_large,
)


def _check(request):
    permissions.require(request.user, permissions.IMPORT_SPEND)


def import_list(request):
    _check(request)
    form = SpendUploadForm()
    refusal = upload_too_large(request.META.get("CONTENT_LENGTH"))
    if request.method == "POST" and refusal:
        # Refused from its announced length, before Django reads the body.
        form = SpendUploadForm(data={})
        form.is_valid()
        form.errors.clear()
        form.add_error("file", refusal)
        context = {"form": form, "batches": selectors.import_list()}
        return render(request, "showback/imports.html", context, status=413)
    if request.method == "POST":
        form = SpendUploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                batch = spend_import_create(
                    actor=request.user,
                    uploaded_file=form.cleaned_data["file"],
                    source_format=form.cleaned_data["source_format"],
                    mode=form.cleaned_data["mode"],
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.info(request, f"“{batch.original_name}” is uploaded; its import is below.")
                return redirect("showback:import_detail", pk=batch.pk)
    return render(request, "showback/imports.html", {"form": form, "batches": selectors.import_list()})


def import_detail(request, pk):
    _check(request)
    batch = selectors.import_get(pk=pk)
    context = {"batch": batch, "progress": import_progress(batch)}
    if batch.status == ImportStatus.SUCCEEDED:
        context["summary"] = selectors.import_summary(batch=batch)
        context["showback_url"] = _showback_url(batch)
        context["unattributed_url"] = f"{reverse('showback:unattributed')}?import={batch.pk}&ai=all"
    if request.htmx:
        return render(request, "showback/partials/_import_status.html", context)
    return render(request, "showback/import_detail.html", context)


def _showback_url(batch):
    """Showback narrowed to the file: its own period, its rows only, AI or not, by provider."""
    params = {"by": "provider", "ai": "all", "import": batch.pk}
    if batch.period_start:
        params.update(start=batch.period_start.isoformat(), end=batch.period_end.isoformat())
    return f"{reverse('showback:index')}?{urlencode(params)}"


def import_rejects(request, pk):
    """The rejected rows as CSV: line, column, reason."""
    _check(request)
    batch = selectors.import_get(pk=pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{batch.pk}-rejects.csv"'
    writer = csv.writer(response)
    writer.writerow(["line", "column", "reason"])
    for reject in batch.rejects:
        writer.writerow([reject["line"], safe_text(reject["column"]), safe_text(reject["message"])])
    return response


def _act(request, pk, service, done, **kwargs):
    _check(request)
    batch = selectors.import_get(pk=pk)
    try:
        service(batch_id=batch.pk, actor=request.user, **kwargs)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done.format(name=batch.original_name))
    return redirect("showback:import_detail", pk=batch.pk)


@require_POST
def import_retry(request, pk):
    if request.POST.get("mode") == "valid_rows":
        done = "“{name}” is queued again: its valid rows only; the rejects stay below."
        return _act(request, pk, spend_import_retry, done, mode="valid_rows")
    return _act(
        request,
        pk,
        spend_import_retry,
        "“{name}” is queued again.",
        mode=request.POST.get("mode") or "as_before",
    )


@require_POST
def import_cancel(request, pk):
    return _act(request, pk, spend_import_cancel, "“{name}” is cancelled.")


@require_POST
def import_undo(request, pk):
    _check(request)
    if request.POST.get("confirm") != "yes":
        messages.error(request, "Tick “remove its rows” to confirm the undo.")
        return redirect("showback:import_detail", pk=pk)
    return _act(request, pk, spend_import_undo, "“{name}” is undone: its rows are removed.")
