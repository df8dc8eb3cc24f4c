"""Seat licences in the forecast and in commitment planning.

Seats of internal AI tools are a known schedule, not usage: they are not in the usage forecast
(which reads metered AI spend), so the forecast page lists them beside it, and the renewal is the
moment to commit to the seats in use rather than the seats bought.
"""

from dataclasses import dataclass
from decimal import Decimal

from aifinops.core import periods
from portfolio.licenses import selectors as license_selectors
from portfolio.licenses.services import Utilisation, utilisation


@dataclass(frozen=True)
class LicenceLine:
    subscription: object
    found: Utilisation
    months_paid: int  # months of the horizon the seats are paid for at today's count
    horizon_cost: Decimal
    renews_in_horizon: bool
    commit_seats: int | None  # seats to renew at: those in use (at least one), when seat use is known
    monthly_saving: Decimal | None  # from renewing at commit_seats instead of today's seats


def licence_lines(*, user, use_case=None, months=12, as_of=None):
    """The seat licences paid over the forecast horizon (the months after this one), with the
    renewals that fall in it and what renewing at the seats in use would save."""
    as_of = as_of or periods.today()
    start = periods.add_months(periods.month_start(as_of), 1)
    end = periods.add_months(start, months)
    qs = license_selectors.subscription_queryset(user).filter(active=True, renewal_date__gte=as_of)
    if use_case is not None:
        qs = qs.filter(use_case=use_case)
    lines = []
    for s in qs.order_by("renewal_date", "vendor"):
        found = utilisation(s, active=s.active_seats, holders=s.holders)
        renews = start <= s.renewal_date < end or as_of <= s.renewal_date < start
        if s.auto_renews or s.renewal_date >= end:
            paid = months
        else:  # it lapses at renewal: paid until then
            paid = max(0, periods.months_between(start, s.renewal_date))
        commit = max(found.active, 1) if found.known else None
        saving = (
            (s.seats - commit) * s.monthly_price_per_seat if commit is not None and commit < s.seats else None
        )
        lines.append(
            LicenceLine(
                subscription=s,
                found=found,
                months_paid=paid,
                horizon_cost=found.monthly_cost * paid,
                renews_in_horizon=renews,
                commit_seats=commit,
                monthly_saving=saving,
            )
        )
    return lines


def licence_totals(lines):
    """Horizon cost and possible monthly saving at renewal, per currency."""
    totals = {}
    for line in lines:
        t = totals.setdefault(line.subscription.currency, {"cost": Decimal(0), "saving": Decimal(0)})
        t["cost"] += line.horizon_cost
        if line.renews_in_horizon and line.monthly_saving:
            t["saving"] += line.monthly_saving
    return totals
