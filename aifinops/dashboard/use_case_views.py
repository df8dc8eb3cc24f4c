"""The metric hierarchy of one use case: whoever may see the use case (its team, its owners, the
cross-team roles); anyone else gets a 404, as for the use case itself."""

import datetime

from django.shortcuts import render

from portfolio import selectors
from portfolio.value.build_vs_buy import build_vs_buy_for

from .metrics import metric_hierarchy


def _month(raw):
    try:
        return datetime.date.fromisoformat(f"{raw}-01") if raw else None
    except ValueError:
        return None


def use_case_metrics(request, key):
    use_case = selectors.use_case_get(user=request.user, key=key)
    raw = (request.GET.get("month") or "").strip()
    month = _month(raw)
    hierarchy = metric_hierarchy(user=request.user, use_case=use_case, month=month)
    return render(
        request,
        "dashboard/metrics.html",
        {
            "use_case": use_case,
            "h": hierarchy,
            "month_error": f"“{raw[:20]}” is not a month (YYYY-MM); showing {hierarchy.month:%B %Y}."
            if raw and month is None
            else "",
            "build_vs_buy": build_vs_buy_for(use_case=use_case),
        },
    )
