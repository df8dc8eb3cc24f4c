"""The executive narrative and the maturity scorecard.

Who sees what: both speak for the whole company and name every team, so they are for the
cross-team roles (finance, the council, platform admins); anyone else is refused (403) rather
than shown a company-wide story cut down to their teams.
"""

from django.shortcuts import render

from aifinops.core import permissions

from .filters import parse_filters
from .maturity import scorecard_get
from .narrative import narrative_get


def _check(request):
    permissions.require(request.user, permissions.VIEW_PORTFOLIO_OVERVIEW)


def narrative(request):
    _check(request)
    filters = None
    if request.GET.get("start") or request.GET.get("end"):
        filters, _ = parse_filters(request.GET, user=request.user)
    story = narrative_get(user=request.user, filters=filters)
    return render(request, "dashboard/narrative.html", {"n": story, "filters": filters})


def maturity(request):
    _check(request)
    return render(request, "dashboard/maturity.html", {"scores": scorecard_get(user=request.user)})
