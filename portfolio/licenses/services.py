"""Internal AI tools and licences: the subscription register, seat activity, renewals, unused seats.

A seat is paid whether it is used or not. The vendor's seat export (user, last active) says how many
are used; the rest are proposed as savings in the linked use case's optimization backlog, and the
renewal is announced 90, 60 and 30 days ahead to the subscription's owner and the team's leads.
"""

import csv
import datetime
import io
import re
from dataclasses import dataclass
from decimal import Decimal

# PermissionDenied stays importable from here: callers and tests catch services.PermissionDenied.
from django.core.exceptions import PermissionDenied, ValidationError  # noqa: F401
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from aifinops.core import periods, permissions
from aifinops.core.audit import audit_record, snapshot
from aifinops.core.notifications import notify
from aifinops.core.services import audited_save

from ..choices import MembershipRole, OptimizationLever, OptimizationStatus
from ..models import Membership, OptimizationItem, RenewalWarning, SeatActivity, ToolSubscription

ACTIVE_WITHIN_DAYS = 30  # a seat used in the last 30 days is active
WARNING_DAYS = (90, 60, 30)
USER_COLUMNS = ("user", "email", "user_email", "login", "username", "user_name")
LAST_ACTIVE_COLUMNS = ("last_active", "last_activity", "last_active_at", "last_activity_date", "last_used")
MAX_SEAT_ROWS = 200_000
FIELDS = (
    "vendor",
    "product",
    "team",
    "owner",
    "use_case",
    "seats",
    "price_per_seat",
    "billing_cycle",
    "currency",
    "renewal_date",
    "auto_renews",
    "active",
    "notes",
)


@dataclass(frozen=True)
class Utilisation:
    seats: int
    holders: int  # seats the export names
    active: int  # holders active in the last ACTIVE_WITHIN_DAYS days
    monthly_cost: Decimal
    known: bool  # seat activity has been imported

    @property
    def unused(self):
        return max(self.seats - self.active, 0)

    @property
    def share(self):
        return Decimal(self.active * 100) / self.seats if self.seats else None

    @property
    def cost_per_active_user(self):
        return self.monthly_cost / self.active if self.active else None


def utilisation(subscription, *, active=None, holders=None):
    """Seats used and cost per active user. `active` and `holders` come annotated from the selector,
    or are counted here for one subscription."""
    if active is None or holders is None:
        since = periods.today() - datetime.timedelta(days=ACTIVE_WITHIN_DAYS)
        rows = subscription.seat_activity.all()
        holders = rows.count()
        active = rows.filter(last_active__gte=since).count()
    return Utilisation(
        seats=subscription.seats,
        holders=holders,
        active=active,
        monthly_cost=subscription.monthly_cost,
        known=subscription.seat_activity_imported_at is not None,
    )


def _check(actor, team):
    permissions.require(actor, permissions.MANAGE_TEAM_TOOLS, team)


@transaction.atomic
def subscription_create(*, actor, **values):
    _check(actor, values.get("team"))
    subscription = ToolSubscription(**{k: v for k, v in values.items() if k in FIELDS})
    subscription.full_clean()
    subscription.save()
    audit_record(actor=actor, action="subscription.create", obj=subscription, after=snapshot(subscription))
    return subscription


@transaction.atomic
def subscription_update(*, actor, subscription, **values):
    _check(actor, subscription.team)
    if "team" in values:
        _check(actor, values["team"])
    values = {name: value for name, value in values.items() if name in FIELDS}
    audited_save(subscription, actor=actor, values=values, action="subscription.update")
    seat_proposal_refresh(subscription=subscription)
    return subscription


def _column(header, names, label):
    for index, name in enumerate(header):
        if name.strip().lower().replace(" ", "_") in names:
            return index
    raise ValidationError({"file": f"No {label} column: name one of {', '.join(names)}."})


def _day(text):
    value = text.strip()
    if not value or value.lower() in ("never", "null", "none", "n/a", "-"):
        return None
    moment = parse_datetime(value.replace("Z", "+00:00")) if "T" in value or " " in value else None
    day = moment.date() if moment else parse_date(value)
    if day is None:
        raise ValueError(f"{value!r} is not a date (expected e.g. 2026-11-02)")
    return day


def _seat_rows(uploaded_file):
    try:
        content = uploaded_file.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError({"file": "The file is not UTF-8 text: export the seat list as CSV."}) from None
    reader = csv.reader(io.StringIO(content, newline=""))
    header = next(reader, None)
    if not header:
        raise ValidationError({"file": "The file is empty: export the seat list with its header line."})
    user_at = _column(header, USER_COLUMNS, "user")
    last_at = _column(header, LAST_ACTIVE_COLUMNS, "last-active")
    rows, errors, seen = {}, [], {}
    for line, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        user = values[user_at].strip() if user_at < len(values) else ""
        if not user:
            errors.append(f"line {line}, column {header[user_at]}: the user is empty")
            continue
        if user.lower() in seen:
            errors.append(
                f"line {line}, column {header[user_at]}: {user} is already on line {seen[user.lower()]}"
            )
            continue
        seen[user.lower()] = line
        try:
            rows[user] = _day(values[last_at] if last_at < len(values) else "")
        except ValueError as exc:
            errors.append(f"line {line}, column {header[last_at]}: {exc}")
        if len(rows) > MAX_SEAT_ROWS:
            raise ValidationError({"file": f"More than {MAX_SEAT_ROWS:,} seats: is this the right file?"})
    if errors:
        shown = "; ".join(errors[:20])
        more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
        raise ValidationError({"file": f"Nothing was imported. {shown}{more}."})
    return rows


@transaction.atomic
def seat_activity_import(*, actor, subscription, uploaded_file):
    """Replace the subscription's seat list with the vendor's export, whole or not at all."""
    _check(actor, subscription.team)
    rows = _seat_rows(uploaded_file)
    subscription = ToolSubscription.objects.select_for_update().get(pk=subscription.pk)
    subscription.seat_activity.all().delete()
    SeatActivity.objects.bulk_create(
        SeatActivity(subscription=subscription, user_label=user[:150], last_active=day)
        for user, day in rows.items()
    )
    subscription.seat_activity_imported_at = timezone.now()
    subscription.save(update_fields=["seat_activity_imported_at", "updated_at"])
    found = utilisation(subscription)
    audit_record(
        actor=actor,
        action="subscription.seat_activity_import",
        obj=subscription,
        after={"holders": found.holders, "active": found.active, "seats": found.seats},
    )
    seat_proposal_refresh(subscription=subscription)
    return found


def seat_proposal_refresh(*, subscription):
    """Propose dropping unused seats in the linked use case's backlog, or update that proposal.

    Once someone has accepted or started the item it is theirs: the figures are left alone."""
    if subscription.use_case_id is None or subscription.seat_activity_imported_at is None:
        return None
    found = utilisation(subscription)
    item = subscription.seat_proposal
    if item is not None and item.status != OptimizationStatus.PROPOSED:
        return item
    if found.unused == 0 and item is None:
        return None
    # A product may be named for its seats already ("ChatGPT Enterprise seats"): say "seats" once.
    product = re.sub(r"\s+seats?$", "", subscription.product.strip(), flags=re.IGNORECASE)
    title = (
        f"Drop {found.unused} unused {product} seat{'s' if found.unused != 1 else ''} "
        f"at the {subscription.renewal_date:%-d %b %Y} renewal"
    )[:150]
    savings = (found.unused * subscription.monthly_price_per_seat).quantize(Decimal("0.01"))
    if item is None:
        item = OptimizationItem.objects.create(
            use_case=subscription.use_case,
            title=title,
            lever=OptimizationLever.LICENSE_CLEANUP,
            expected_monthly_savings=savings,
            currency=subscription.currency,
            value_impact=f"{found.active} of {found.seats} seats used in the last {ACTIVE_WITHIN_DAYS} days.",
            owner=subscription.owner,
        )
        subscription.seat_proposal = item
        subscription.save(update_fields=["seat_proposal", "updated_at"])
        audit_record(actor=None, action="optimization.propose", obj=item, after=snapshot(item))
    else:
        before = snapshot(item)
        item.title, item.expected_monthly_savings = title, savings
        item.value_impact = (
            f"{found.active} of {found.seats} seats used in the last {ACTIVE_WITHIN_DAYS} days."
        )
        item.save(update_fields=["title", "expected_monthly_savings", "value_impact", "updated_at"])
        audit_record(actor=None, action="optimization.update", obj=item, before=before, after=snapshot(item))
    return item


def _team_leads(team):
    return [
        m.user for m in Membership.objects.filter(team=team, role=MembershipRole.LEAD).select_related("user")
    ]


def renewals_warn(*, today=None):
    """Announce each renewal 90, 60 and 30 days ahead, once per lead time however often this runs.
    A subscription registered late gets one notice for the nearest lead time it has passed."""
    today = today or periods.today()
    horizon = today + datetime.timedelta(days=max(WARNING_DAYS))
    sent = []
    subscriptions = ToolSubscription.objects.filter(
        active=True, renewal_date__gt=today, renewal_date__lte=horizon
    ).select_related("owner", "team")
    for subscription in subscriptions:
        days_left = (subscription.renewal_date - today).days
        due = [d for d in WARNING_DAYS if days_left <= d]
        fresh = []
        for days in due:
            try:
                with transaction.atomic():
                    RenewalWarning.objects.create(
                        subscription=subscription, renewal_date=subscription.renewal_date, days_before=days
                    )
                fresh.append(days)
            except IntegrityError:
                continue
        if not fresh:
            continue
        with transaction.atomic():
            found = utilisation(subscription)
            used = (
                f"{found.active} of {found.seats} seats used" if found.known else "seat use not imported yet"
            )
            notify(
                recipients=[subscription.owner, *_team_leads(subscription.team)],
                subject=f"{subscription.vendor} {subscription.product} renews in {days_left} days",
                body=(
                    f"{subscription} renews on {subscription.renewal_date:%d %b %Y} at "
                    f"{subscription.seats} seats ({used}). Decide the seat count before then."
                ),
                url=reverse("portfolio:subscription_detail", args=[subscription.pk]),
            )
            audit_record(
                actor=None,
                action="subscription.renewal_warning",
                obj=subscription,
                after={"renewal_date": str(subscription.renewal_date), "days_before": min(fresh)},
            )
        sent.append((subscription, min(fresh)))
    return sent
