"""The exchange rates page (everyone who sees spend may read the rates its totals use), the CSV
upload and the reporting currency (finance analysts and platform admins)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from aifinops.core import permissions

from .. import fx
from ..currencies import is_currency
from . import selectors
from .forms import ExchangeRateUploadForm, ReportingCurrencyForm, rate_rows_from_csv


def _pair(request):
    """(base, quote) of ?pair=EUR/USD, or (None, None); an unknown code is ignored, with a note."""
    raw = (request.GET.get("pair") or "").upper()
    base, _, quote = raw.partition("/")
    if raw and is_currency(base) and is_currency(quote):
        return base, quote, ""
    return None, None, (f"“{raw[:20]}” is not a pair such as EUR/USD; showing all rates." if raw else "")


def _page(request, *, upload_form=None, currency_form=None, problems=(), status=200):
    base, quote, pair_error = _pair(request)
    current = fx.reporting_currency()
    context = {
        "reporting_currency": current,
        "pairs": selectors.exchange_rate_pairs(),
        "rates": selectors.exchange_rate_list(base=base, quote=quote),
        "pair": f"{base}/{quote}" if base else "",
        "pair_error": pair_error,
        "recent_limit": selectors.RECENT_RATES,
        "can_keep": permissions.can_keep_exchange_rates(request.user),
        "upload_form": upload_form or ExchangeRateUploadForm(initial={"source": "ECB reference rates"}),
        "currency_form": currency_form or ReportingCurrencyForm(initial={"code": current}),
        "problems": problems,
    }
    return render(request, "showback/rates/index.html", context, status=status)


def exchange_rate_list(request):
    return _page(request)


def exchange_rate_upload(request):
    permissions.require(request.user, permissions.LOAD_EXCHANGE_RATES)
    if request.method != "POST":
        return redirect("showback:exchange_rate_list")
    form = ExchangeRateUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, upload_form=form, status=400)
    try:
        rows, lines = rate_rows_from_csv(form.cleaned_data["file"])
        result = fx.exchange_rates_load(
            actor=request.user, rows=rows, lines=lines, source=form.cleaned_data["source"]
        )
    except ValidationError as exc:
        problems = []
        for field, errors in (
            exc.message_dict if hasattr(exc, "error_dict") else {"file": exc.messages}
        ).items():
            problems.extend(errors if field in ("rates", "file") else [f"{field}: {e}" for e in errors])
        form.add_error("file", "The file was not loaded: nothing was recorded. See the problems below.")
        return _page(request, upload_form=form, problems=problems, status=400)
    messages.success(
        request,
        f"Loaded {result.total:,} rate{'s' if result.total != 1 else ''} of {', '.join(result.pairs)} "
        f"from {result.first} to {result.last}: {result.created:,} new, {result.changed:,} changed, "
        f"{result.unchanged:,} already recorded.",
    )
    return redirect("showback:exchange_rate_list")


def reporting_currency_edit(request):
    permissions.require(request.user, permissions.SET_REPORTING_CURRENCY)
    if request.method != "POST":
        return redirect("showback:exchange_rate_list")
    form = ReportingCurrencyForm(request.POST)
    if not form.is_valid():
        return _page(request, currency_form=form, status=400)
    try:
        fx.reporting_currency_set(actor=request.user, code=form.cleaned_data["code"])
    except ValidationError as exc:
        form.add_error("code", exc.message_dict.get("code", exc.messages))
        return _page(request, currency_form=form, status=400)
    messages.success(request, f"Totals across currencies are now shown in {form.cleaned_data['code']}.")
    return redirect("showback:exchange_rate_list")
