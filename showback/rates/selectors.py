"""Reads of the recorded exchange rates for the rates page and the API."""

from django.db.models import Count, Max, Min, Q

from ..fx import plain_rate
from ..models import ExchangeRate

RECENT_RATES = 60


def exchange_rate_pairs():
    """[{base, quote, first, latest, count, rate, source}]: each recorded pair, with its latest rate
    and the source of it. Two queries whatever the number of rates."""
    counts = {
        (r["base"], r["quote"]): r
        for r in ExchangeRate.objects.order_by()
        .values("base", "quote")
        .annotate(first=Min("valid_from"), latest=Max("valid_from"), count=Count("id"))
    }
    if not counts:
        return []
    # Each pair's row on its latest date (one per date: exchangerate_once). An OR of the pairs
    # rather than PostgreSQL's DISTINCT ON, so that `make run` on SQLite answers too.
    on_latest = Q()
    for (base, quote), r in counts.items():
        on_latest |= Q(base=base, quote=quote, valid_from=r["latest"])
    latest = ExchangeRate.objects.filter(on_latest).order_by("base", "quote")
    return [
        {
            "base": r.base,
            "quote": r.quote,
            "rate": r.rate,
            "rate_text": plain_rate(r.rate),
            "source": r.source,
            "latest": r.valid_from,
            "first": counts[r.base, r.quote]["first"],
            "count": counts[r.base, r.quote]["count"],
        }
        for r in latest
    ]


def exchange_rate_list(*, base=None, quote=None, limit=RECENT_RATES):
    """The latest recorded rates, newest first, optionally of one pair."""
    qs = ExchangeRate.objects.order_by("-valid_from", "base", "quote")
    if base:
        qs = qs.filter(base=base)
    if quote:
        qs = qs.filter(quote=quote)
    return qs[:limit] if limit else qs
