import logging

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.mixins import AccessMixin
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse_lazy
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from aifinops.celery import app as celery_app

from . import permissions, selectors, services
from .forms import ApiTokenForm, LoginForm
from .models import ApiToken
from .notifications import notifications_mark_read

logger = logging.getLogger(__name__)


class SectionRequiredMixin(AccessMixin):
    """Refuse the page unless `permissions.can_access_section(user, section)`."""

    section: str = ""

    def dispatch(self, request, *args, **kwargs):
        permissions.require_section(request.user, self.section)
        return super().dispatch(request, *args, **kwargs)


def section_required(section):
    def decorator(view):
        def wrapped(request, *args, **kwargs):
            permissions.require_section(request.user, section)
            return view(request, *args, **kwargs)

        wrapped.__name__ = view.__name__
        wrapped.__doc__ = view.__doc__
        return wrapped

    return decorator


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


login_view = login_not_required(LoginView.as_view())
logout_view = auth_views.LogoutView.as_view()


class PasswordSetView(auth_views.PasswordResetConfirmView):
    """The one-time link of an invitation: the invited person chooses a password, then logs in."""

    template_name = "registration/password_set.html"
    success_url = reverse_lazy("core:login")

    def form_valid(self, form):
        messages.success(self.request, "Your password is set: log in with it.")
        return super().form_valid(form)


password_set = login_not_required(PasswordSetView.as_view())


@login_not_required
@require_GET
def favicon(request):
    """Browsers ask for /favicon.ico whatever the page links: send them to the icon itself."""
    return redirect(static("favicon.svg"), permanent=True)


@never_cache
@login_not_required
@require_GET
def healthz(request):
    """Readiness of the database, the Celery broker and the cache, for orchestrators."""
    checks = {}

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = {"ok": True, "vendor": connection.vendor}
    except Exception as exc:
        logger.warning("healthz: database check failed: %s", exc)
        checks["database"] = {"ok": False, "error": exc.__class__.__name__}

    if celery_app.conf.broker_url.startswith("memory"):
        checks["broker"] = {"ok": True, "mode": "in-process (no REDIS_URL)"}
    else:
        try:
            with celery_app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
            checks["broker"] = {"ok": True, "mode": "redis"}
        except Exception as exc:
            logger.warning("healthz: broker check failed: %s", exc)
            checks["broker"] = {"ok": False, "error": exc.__class__.__name__}

    try:
        probe = f"healthz:{timezone.now().timestamp()}"
        cache.set(probe, "ok", 5)
        ok = cache.get(probe) == "ok"
        cache.delete(probe)
        checks["cache"] = {"ok": ok}
    except Exception as exc:
        logger.warning("healthz: cache check failed: %s", exc)
        checks["cache"] = {"ok": False, "error": exc.__class__.__name__}

    healthy = all(c["ok"] for c in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks}, status=200 if healthy else 503
    )


def profile(request):
    """The user's roles, teams and personal API tokens."""
    new_key = request.session.pop("new_api_token", None)
    form = ApiTokenForm()
    if request.method == "POST":
        form = ApiTokenForm(request.POST)
        if form.is_valid():
            try:
                _token, raw = services.api_token_create(user=request.user, name=form.cleaned_data["name"])
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                # Shown once, after the redirect, then gone from the session.
                request.session["new_api_token"] = raw
                messages.success(request, "Token created. Copy it now: it will not be shown again.")
                return redirect("core:profile")
    return render(
        request,
        "core/profile.html",
        {
            "form": form,
            "new_key": new_key,
            "tokens": selectors.api_token_list(user=request.user),
            "roles": sorted(permissions.roles_of(request.user)),
            "memberships": selectors.membership_list(user=request.user),
        },
    )


@require_POST
def api_token_revoke(request, pk):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    services.api_token_revoke(token=token, actor=request.user)
    messages.success(request, f"Token “{token.name}” revoked. Integrations using it now get 401.")
    return redirect("core:profile")


def notification_list(request):
    items = selectors.notification_list(user=request.user)
    if request.method == "POST":
        notifications_mark_read(user=request.user)
        return redirect("core:notification_list")
    return render(request, "core/notifications.html", {"notifications": items})


def audit_log(request):
    permissions.require(request.user, permissions.READ_AUDIT_LOG)
    events = selectors.audit_event_list(filters=request.GET)
    return render(request, "core/audit_log.html", {"events": events[:200], "filters": request.GET})


def permission_denied(request, exception=None):
    message = str(exception) if exception and str(exception) else "You do not have access to this page."
    return render(request, "403.html", {"message": message}, status=403)


def page_not_found(request, exception=None):
    if request.path.startswith("/api/"):
        # An API client gets the API's error body (aifinops.core.api.errors), not a page.
        body = {"error": {"status": 404, "code": "not_found", "message": "Not found."}}
        return JsonResponse(body, status=404)
    return render(request, "404.html", status=404)


def server_error(request):
    return render(request, "500.html", status=500)
