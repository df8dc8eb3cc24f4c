import datetime
from urllib.parse import urlencode

from django.http import HttpResponseBadRequest
from django.shortcuts import render

from aifinops.core import periods, permissions

from . import charts, selectors

PERIOD_PRESETS = (
    ("this_month", "This month"),
    ("last_month", "Last month"),
    ("last_90_days", "Last 90 days"),
    ("last_12_months", "Last 12 months"),
)

# Longer periods would only draw more empty months; the rollups stay cheap either way.
MAX_PERIOD_DAYS = 366 * 5


def _preset_period(preset, day):
    this_month = periods.month_start(day)
    return {
        "this_month": (this_month, day),
        "last_month": (periods.months_back(day, 1), this_month - datetime.timedelta(days=1)),
        "last_90_days": (day - datetime.timedelta(days=89), day),
        "last_12_months": (periods.months_back(day, 11), day),
    }[preset]


def _parse_period(params, day):
    """(start, end, errors) from ?start=&end= (ISO dates, end inclusive); this month by default."""
    start, end = _preset_period("this_month", day)
    errors = []
    parsed = {}
    for name, default in (("start", start), ("end", end)):
        raw = (params.get(name) or "").strip()
        if not raw:
            parsed[name] = default
            continue
        try:
            parsed[name] = datetime.date.fromisoformat(raw)
        except ValueError:
            errors.append(f"The {name} date “{raw[:20]}” is not a date; use YYYY-MM-DD. Showing this month.")
    if errors:
        return start, end, errors
    if parsed["start"] > parsed["end"]:
        return start, end, ["The start date is after the end date; showing this month."]
    if (parsed["end"] - parsed["start"]).days > MAX_PERIOD_DAYS:
        return start, end, ["Choose a period of five years or less; showing this month."]
    return parsed["start"], parsed["end"], []


SHARE_FIELDS = ("share", "cached_share", "premium_share", "unattributed_share")


def _with_percentages(rows):
    """Shares are fractions in the selector; templates show them as percentages."""
    for r in rows:
        for name in SHARE_FIELDS:
            r[f"{name}_pct"] = None if r[name] is None else r[name] * 100
    return rows


def _ai_only(params):
    # ?ai=all (and the older ?scope=all) shows all spend; AI spend otherwise.
    return (params.get("ai") or params.get("scope")) != "all"


def index(request):
    """Spend shown back for a period, broken down by one dimension, to the user's scope."""
    ai_only = _ai_only(request.GET)
    dimension = request.GET.get("by", "team")
    if dimension not in selectors.BREAKDOWNS:
        dimension = "team"
    try:
        filters, import_id = selectors.parse_spend_filters(request.GET)
    except selectors.BadFilter as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    day = periods.today()
    start, end, errors = _parse_period(request.GET, day)
    breakdown = selectors.spend_breakdown(
        user=request.user,
        dimension=dimension,
        start=start,
        end=end,
        ai_only=ai_only,
        filters=filters,
        import_id=import_id,
    )
    _with_percentages(breakdown["rows"])
    _with_percentages(breakdown["totals"].values())
    state = {
        "by": dimension,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "ai": "ai" if ai_only else "all",
        **filters,
        **({"import": import_id} if import_id else {}),
    }

    def link(**changes):
        return "?" + urlencode({k: v for k, v in {**state, **changes}.items() if v is not None})

    for row in breakdown["rows"]:
        if dimension in selectors.BILL_FILTERS and dimension not in filters:
            row["filter_url"] = link(**{dimension: row["key"] or ""}) if row["key"] else ""
    active_filters = [
        {"name": selectors.BREAKDOWNS[name][0], "value": value, "remove_url": link(**{name: None})}
        for name, value in filters.items()
    ]
    if import_id:
        active_filters.append(
            {
                "name": "Import",
                "value": selectors.import_label(import_id=import_id),
                "remove_url": link(**{"import": None}),
            }
        )

    trend = breakdown["trend"]
    trend_chart = (
        charts.breakdown_trend_chart(trend, dimension_label=breakdown["dimension_label"]) if trend else None
    )
    presets = []
    for key, label in PERIOD_PRESETS:
        p_start, p_end = _preset_period(key, day)
        presets.append(
            {
                "label": label,
                "url": link(start=p_start.isoformat(), end=p_end.isoformat()),
                "active": (p_start, p_end) == (start, end),
            }
        )
    context = {
        "ai_only": ai_only,
        "can_import": permissions.can_import_spend(request.user),
        "sees_all_teams": permissions.sees_all_teams(request.user),
        "period_start": start,
        "period_end": end,
        "period_errors": errors,
        "presets": presets,
        "dimensions": [
            {"key": key, "label": label, "url": link(by=key), "active": key == dimension}
            for key, (label, _) in selectors.BREAKDOWNS.items()
        ],
        "scope_links": {"ai": link(ai="ai"), "all": link(ai="all")},
        "active_filters": active_filters,
        "hidden_state": {k: v for k, v in state.items() if k not in ("by", "start", "end")},
        "breakdown": breakdown,
        "trend_chart": trend_chart,
    }
    template = "showback/partials/_breakdown.html" if request.htmx else "showback/index.html"
    return render(request, template, context)
