"""Pages of early warning: the anomaly list and detail with their triage (htmx), and forecasts with
their driver assumptions and commitment planning.

Every write is a POST that calls one service. With htmx the answer is the anomaly's row (or card)
again, with a message; without htmx it is a redirect back with the message.
"""

from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from aifinops.core import permissions
from aifinops.core.selectors import audit_events_for
from aifinops.core.templatetags.afo import money, unit_price
from portfolio import selectors as portfolio_selectors

from ..models import AnomalyKind, AnomalyStatus, ForecastAssumption, Severity
from . import charts, commitments, services
from . import selectors as analytics
from .forms import AnomalyNoteForm, ForecastAssumptionForm, ForecastQueryForm
from .selectors.licences import licence_lines, licence_totals

PAGE_SIZE = 50
CHART_SPIKES = 12


def _querystring(params):
    return urlencode([(key, v) for key, values in params.lists() if key != "page" for v in values])


def _shown(anomaly, value):
    """An anomaly's expected or actual value in its unit: money, a price per call, a ratio, a share."""
    unit = (anomaly.detail or {}).get("unit") or ("money" if anomaly.kind == AnomalyKind.SPIKE else "ratio")
    if unit == "money":
        return money(value, anomaly.currency)
    if unit == "per_call":
        return unit_price(value, anomaly.currency)
    if unit == "share":
        return f"{value * 100:.0f} %"
    return f"{value:.2f}"


def _decorate(user, anomalies):
    """What each row shows and offers: the values in their unit, and whether the user may triage."""
    for a in anomalies:
        a.can_triage = permissions.can_triage_anomaly(user, a)
        a.expected_text, a.actual_text = _shown(a, a.expected), _shown(a, a.actual)
    return anomalies


def anomaly_list(request):
    """Anomalies of the use cases the user may see, newest first, filtered by status, severity,
    kind, use case and dates."""
    filterset = analytics.anomaly_filterset(user=request.user, filters=request.GET)
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = _decorate(request.user, list(page.object_list))
    counts = analytics.anomaly_counts(user=request.user)
    spikes = [a for a in rows if a.kind == AnomalyKind.SPIKE]
    main_currency = max(
        {a.currency for a in spikes}, key=lambda c: sum(a.currency == c for a in spikes), default=None
    )
    largest = sorted(spikes, key=lambda a: a.actual - a.expected, reverse=True)[:CHART_SPIKES]
    context = {
        "filter": filterset,
        "filter_errors": [
            (filterset.form.fields[name].label if name in filterset.form.fields else name, errors)
            for name, errors in (filterset.errors.items() if filterset.is_bound else ())
        ],
        "page": page,
        "rows": rows,
        "querystring": _querystring(request.GET),
        "open_by_severity": [
            (label, value, counts.get((AnomalyStatus.OPEN, value), 0))
            for value, label in Severity.choices[::-1]
        ],
        "chart": charts.anomalies_expected_vs_actual_chart(largest, currency=main_currency)
        if spikes
        else None,
        "note_form": AnomalyNoteForm(),
        "next": request.get_full_path(),
    }
    template = (
        "showback/analytics/partials/_anomaly_table.html"
        if request.htmx
        else "showback/analytics/anomalies.html"
    )
    return render(request, template, context)


def _change_text(anomaly):
    """A drift's change: "+32 %" of the baseline, or "-12 points" of share."""
    detail = anomaly.detail or {}
    if "change" not in detail:
        return ""
    change = Decimal(detail["change"]) * 100
    return f"{change:+.0f} %" if detail.get("measure") == "relative" else f"{change:+.0f} points"


def anomaly_detail(request, pk):
    anomaly = analytics.anomaly_get(user=request.user, pk=pk)
    _decorate(request.user, [anomaly])
    series = analytics.anomaly_series(anomaly=anomaly)
    return render(
        request,
        "showback/analytics/anomaly_detail.html",
        {
            "anomaly": anomaly,
            "chart": charts.anomaly_chart(series, anomaly),
            "change": _change_text(anomaly),
            "note_form": AnomalyNoteForm(),
            "history": audit_events_for(anomaly),
            "next": request.get_full_path(),
        },
    )


TRIAGE = {
    "acknowledge": (services.anomaly_acknowledge, "Anomaly acknowledged."),
    "explain": (services.anomaly_explain, "Explanation saved."),
    "resolve": (services.anomaly_resolve, "Anomaly resolved."),
}


def _safe_next(request, fallback):
    target = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


@require_POST
def anomaly_triage(request, pk, action):
    """Acknowledge, explain or resolve one anomaly; answer with its row (htmx) or a redirect."""
    if action not in TRIAGE:
        raise Http404("No such action.")
    service, success = TRIAGE[action]
    anomaly = analytics.anomaly_get(user=request.user, pk=pk)
    form = AnomalyNoteForm(request.POST)
    notice = None
    if form.is_valid():
        try:
            anomaly = service(anomaly=anomaly, actor=request.user, note=form.cleaned_data["note"])
        except ValidationError as exc:
            notice = ("danger", " ".join(str(m) for errors in exc.message_dict.values() for m in errors))
        else:
            notice = ("success", success)
    else:
        notice = ("danger", "Note: " + " ".join(form.errors.get("note", [])))
    if request.htmx:
        anomaly = analytics.anomaly_get(user=request.user, pk=pk)
        _decorate(request.user, [anomaly])
        template = (
            "showback/analytics/partials/_anomaly_triage.html"
            if request.POST.get("view") == "detail"
            else "showback/analytics/partials/_anomaly_row.html"
        )
        return render(
            request,
            template,
            {
                "a": anomaly,
                "anomaly": anomaly,
                "note_form": AnomalyNoteForm(),
                "notice": notice,
                "next": _safe_next(request, ""),
            },
            status=200,
        )
    getattr(messages, "success" if notice[0] == "success" else "error")(request, notice[1])
    return redirect(_safe_next(request, reverse("analytics:anomaly_detail", args=[pk])))


# Forecasts.


def _forecast_page(request, use_case):
    if not permissions.can_view_forecast(request.user, use_case):
        raise Http404("No such use case.")
    query = ForecastQueryForm(request.GET or None)
    months, horizon_error = query.horizon() if request.GET.get("months") else (12, None)
    can_plan = permissions.can_add_assumption(request.user, use_case)
    form = None
    if request.method == "POST":
        permissions.require(request.user, permissions.PLAN_FORECAST, use_case)
        form = ForecastAssumptionForm(request.POST, portfolio=use_case is None)
        if form.is_valid():
            try:
                services.forecast_assumption_create(
                    actor=request.user, use_case=use_case, **form.service_values()
                )
            except ValidationError as exc:
                for name, errors in exc.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                messages.success(request, "Assumption added; the forecast below includes it.")
                return redirect(request.get_full_path())
    view = analytics.forecast_get(user=request.user, use_case=use_case, months=months)
    licences = licence_lines(user=request.user, use_case=use_case, months=months)
    plans = (
        analytics.commitment_plans(user=request.user)
        if use_case is None and permissions.can_plan_commitments(request.user)
        else None
    )
    return render(
        request,
        "showback/analytics/forecast.html",
        {
            "use_case": use_case,
            "view": view,
            "chart": charts.forecast_chart(view) if view.history.months else None,
            "query": query,
            "months": months,
            "horizon_error": horizon_error,
            "can_plan": can_plan,
            "form": form
            if form is not None
            else (ForecastAssumptionForm(portfolio=use_case is None) if can_plan else None),
            "plans": plans,
            "licences": licences,
            "licence_totals": licence_totals(licences),
            "use_cases": analytics.forecastable_use_cases(user=request.user),
            "sees_all": permissions.sees_all_teams(request.user),
            "discount_pct": commitments.COMMITMENT_DISCOUNT * 100,
            "max_cv_pct": commitments.MAX_CV * 100,
            "stable_months": commitments.STABLE_MIN_MONTHS,
        },
    )


def forecast_portfolio(request):
    """The portfolio's forecast; the page's "forecast of" choice sends ?use_case= here."""
    key = request.GET.get("use_case")
    if key and request.method == "GET":
        url = reverse("analytics:forecast_use_case", args=[key])
        months = request.GET.get("months")
        return redirect(f"{url}?{urlencode({'months': months})}" if months else url)
    return _forecast_page(request, None)


def forecast_use_case(request, key):
    return _forecast_page(request, portfolio_selectors.use_case_get(user=request.user, key=key))


@require_POST
def assumption_delete(request, pk):
    assumption = get_object_or_404(ForecastAssumption.objects.select_related("use_case"), pk=pk)
    if assumption.use_case is not None and not permissions.can_view_forecast(
        request.user, assumption.use_case
    ):
        raise Http404("No such assumption.")
    use_case = assumption.use_case
    services.forecast_assumption_delete(actor=request.user, assumption=assumption)
    messages.success(request, "Assumption removed.")
    if use_case is not None:
        return redirect("analytics:forecast_use_case", key=use_case.key)
    return redirect("analytics:forecast_portfolio")
