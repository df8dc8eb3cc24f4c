"""Pages of the internal AI tools register: subscriptions, seat use, renewals."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import path

from aifinops.core import permissions

from . import selectors, services
from .forms import SeatActivityForm, SubscriptionForm


def _apply(form, request, call):
    """Run a service with the form's data; its rule messages land on the form."""
    if not form.is_valid():
        return None
    try:
        return call(form.cleaned_data)
    except PermissionDenied:
        raise
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    return None


def subscription_list(request):
    rows = selectors.subscription_list(user=request.user)
    can_manage = permissions.can_manage_subscriptions(request.user)
    form = None
    if can_manage:
        form = SubscriptionForm(request.POST or None, **selectors.subscription_choices(request.user))
        if request.method == "POST":
            made = _apply(
                form,
                request,
                lambda data: services.subscription_create(actor=request.user, owner=request.user, **data),
            )
            if made:
                messages.success(request, f"{made} registered.")
                return redirect("portfolio:subscription_detail", pk=made.pk)
    elif request.method == "POST":
        permissions.require(request.user, permissions.REGISTER_TOOLS)
    return render(
        request,
        "portfolio/licenses/subscription_list.html",
        {
            "rows": rows,
            "totals": selectors.subscription_totals(rows),
            "renewals": [r for r in rows if r[3] is not None],
            "form": form,
            "warning_days": services.WARNING_DAYS,
            "active_days": services.ACTIVE_WITHIN_DAYS,
        },
    )


def subscription_detail(request, pk):
    subscription = selectors.subscription_get(user=request.user, pk=pk)
    can_manage = permissions.can_manage_subscriptions(request.user, subscription.team)
    found = services.utilisation(subscription, active=subscription.active_seats, holders=subscription.holders)
    form = (
        SubscriptionForm.for_subscription(subscription, **selectors.subscription_choices(request.user))
        if can_manage
        else None
    )
    upload = SeatActivityForm() if can_manage else None
    if request.method == "POST":
        permissions.require(request.user, permissions.CHANGE_SUBSCRIPTION, subscription.team)
        if "file" in request.FILES or request.POST.get("action") == "seats":
            upload = SeatActivityForm(request.POST, request.FILES)
            done = _apply(
                upload,
                request,
                lambda data: services.seat_activity_import(
                    actor=request.user, subscription=subscription, uploaded_file=data["file"]
                ),
            )
            if done:
                messages.success(
                    request, f"Seat activity imported: {done.active} of {done.seats} seats in use."
                )
                return redirect("portfolio:subscription_detail", pk=pk)
        else:
            form = SubscriptionForm(request.POST, **selectors.subscription_choices(request.user))
            done = _apply(
                form,
                request,
                lambda data: services.subscription_update(
                    actor=request.user, subscription=subscription, **data
                ),
            )
            if done:
                messages.success(request, "Subscription saved.")
                return redirect("portfolio:subscription_detail", pk=pk)
    idle = subscription.seat_activity.order_by("last_active", "user_label")[:50]
    return render(
        request,
        "portfolio/licenses/subscription_detail.html",
        {
            "subscription": subscription,
            "found": found,
            "form": form,
            "upload": upload,
            "idle": idle,
            "active_days": services.ACTIVE_WITHIN_DAYS,
        },
    )


urlpatterns = [
    path("tools/", subscription_list, name="subscription_list"),
    path("tools/<int:pk>/", subscription_detail, name="subscription_detail"),
]
