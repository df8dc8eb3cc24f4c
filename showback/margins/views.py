"""Product margins: revenue per customer against the AI cost to serve them, and the revenue upload.

Who sees what: finance analysts and platform admins (revenue is commercially sensitive); everyone
else is refused (403).
"""

from decimal import Decimal

from django.contrib import messages
from django.shortcuts import redirect, render

from aifinops.core import permissions
from aifinops.core.spreadsheet import csv_response, safe_text

from . import selectors
from .charts import erosion_chart, segment_chart
from .forms import RevenueUploadForm
from .services import RevenueFileError, revenue_import, revenue_rows_from_csv

MICRO = Decimal("0.000001")


def _check(request):
    permissions.require(request.user, permissions.SEE_MARGINS)


def _months(request):
    try:
        months = int(request.GET.get("months", selectors.DEFAULT_MONTHS))
    except ValueError:
        months = selectors.DEFAULT_MONTHS
    return months if months in selectors.WINDOWS else selectors.DEFAULT_MONTHS


def _page(request, *, form=None, problems=None, status=200):
    months = _months(request)
    found = selectors.margins_get(months=months)
    currencies = {c.currency for c in found.customers} or {"USD"}
    currency = max(
        currencies, key=lambda cur: sum(c.revenue + c.cost for c in found.customers if c.currency == cur)
    )
    context = {
        "m": found,
        "months": months,
        "windows": selectors.WINDOWS,
        "currency": currency,
        "segment_chart": segment_chart(found.segments, currency=currency),
        "erosion_chart": erosion_chart(found.customers, currency=currency),
        "can_load": permissions.can_load_revenue(request.user),
        "form": form or RevenueUploadForm(),
        "problems": problems,
    }
    return render(request, "showback/margins/index.html", context, status=status)


def margins(request):
    _check(request)
    return _page(request)


def revenue_upload(request):
    _check(request)
    permissions.require(request.user, permissions.LOAD_REVENUE)
    if request.method != "POST":
        return redirect("showback:margins")
    form = RevenueUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, form=form, status=400)
    upload = form.cleaned_data["file"]
    try:
        result = revenue_import(
            actor=request.user, rows=revenue_rows_from_csv(upload), source=upload.name[:100]
        )
    except RevenueFileError as exc:
        form.add_error("file", str(exc))
        return _page(request, form=form, problems=exc, status=400)
    span = ", ".join(f"{m:%b %Y}" for m in result.months[:6]) + ("…" if len(result.months) > 6 else "")
    messages.success(
        request,
        f"Loaded revenue of {result.customers} customer{'s' if result.customers != 1 else ''} for {span}: "
        f"{result.created} new row{'s' if result.created != 1 else ''}, {result.replaced} replaced.",
    )
    return redirect("showback:margins")


def margins_csv(request):
    _check(request)
    found = selectors.margins_get(months=_months(request))
    header = [
        "customer",
        "segment",
        "plan",
        "currency",
        "revenue",
        "ai_cost_to_serve",
        "margin_after_ai_cost",
        "ai_cost_share_of_revenue",
        "revenue_growth",
        "ai_cost_growth",
        "eroding",
        "ai_cost_converted_as_billed",
        "ai_cost_without_rate_not_counted",
        # Appended, so readers of the columns above keep working: the customer in the reporting
        # currency, the rates used (latest per currency, with its date) and any rate missing; an
        # empty margin where a rate is missing, never one counted at 1.
        "reporting_currency",
        "reporting_revenue",
        "reporting_ai_cost_to_serve",
        "reporting_margin_after_ai_cost",
        "reporting_rates_used",
        "reporting_missing_rates",
    ]

    def fmt(value):
        return "" if value is None else format(value.quantize(MICRO).normalize(), "f")

    def amounts(by_currency):
        return "; ".join(f"{fmt(v)} {cur}" for cur, v in sorted(by_currency.items()))

    rows = (
        [
            safe_text(c.customer),
            safe_text(c.segment),
            safe_text(c.plan),
            c.currency,
            fmt(c.revenue),
            fmt(c.cost),
            fmt(c.margin),
            fmt(c.cost_share),
            fmt(c.revenue_growth),
            fmt(c.cost_growth),
            "yes" if c.eroding else "no",
            amounts(c.converted_cost),
            amounts(c.other_currency_cost),
            *_reporting_cells(c.reporting, fmt),
        ]
        for c in found.customers
    )
    first, last = found.months[0], found.months[-1]
    return csv_response(header, rows, filename=f"aifinops-margins-{first:%Y%m}-{last:%Y%m}.csv")


def _reporting_cells(reporting, fmt):
    """The CSV's reporting-currency cells of one customer (selectors.InReporting)."""

    def said(side, line):
        earlier = line["earlier"]
        more = f" and {earlier} earlier rate{'s' if earlier > 1 else ''}" if earlier else ""
        return f"{side} {line['rate']}{more}"

    rates = [said("revenue", line) for line in reporting.revenue.rate_lines]
    rates += [said("cost", line) for line in reporting.cost.rate_lines]
    return [
        reporting.currency,
        fmt(reporting.revenue.amount) if reporting.revenue.complete else "",
        fmt(reporting.cost.amount) if reporting.cost.complete else "",
        fmt(reporting.margin),
        safe_text("; ".join(rates)),
        safe_text("; ".join(f"{fmt(m.amount)} {m.currency}: {m}" for m in reporting.missing)),
    ]
