"""Every URL pattern against every persona, as the one table in permission_matrix.py says.

Given the world of matrix_world.py (records of every kind, team A's) and one persona, when the
persona GETs every URL and POSTs to every URL that changes something it may not change, then each
answer is the table's, no refused POST writes an audit row, and no page or endpoint shows team B's
requester anything of team A's.
"""

import json
import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from aifinops.core.models import AuditEvent

from .matrix_world import TEAM_A_MARKERS, build_world
from .permission_matrix import ADMIN_LOGIN, ADMIN_MODELS, DEFAULT_KWARGS, LOGIN, PERSONAS, UPLOAD, full_matrix

# Answers that refuse a POST. 400 and 422 name the field that names a record the caller may not
# see, as if it did not exist; 409 is a move to a stage that is not the next one, whoever asks.
REFUSALS = {LOGIN, ADMIN_LOGIN, "400", "401", "403", "404", "405", "409", "422"}
# Records of team A that URL kwargs name: team B's requester must not get them.
TEAM_A_RECORDS = {
    "use_case_a", "team_a", "intake_a", "draft_a", "milestone_a", "signal_a", "cost_line_a",
    "optimization_a", "subscription_a", "budget_a", "alert_a", "increase_a", "anomaly_a",
    "assumption_a", "gateway_key_a", "item_a", "decision", "funding_a",
}  # fmt: skip
# Lists that show requester A team A's records, and so prove that team B's requester, who opens
# them too, would see them if they leaked.
LISTS_SHOWING_TEAM_A = {
    "home", "portfolio:use_case_list", "portfolio:use_case_export", "portfolio:optimization_backlog",
    "portfolio:subscription_list", "dashboard:index", "intake:index", "showback:index",
    "showback:budget_list", "analytics:anomaly_list", "analytics:forecast_portfolio",
    "api-team-list", "api-use-case-list", "api-milestone-list", "api-value-signal-list", "api-cost-line-list",
    "api-optimization-list", "api-subscription-list", "api-intake-list", "api-spend-summary",
    "api-daily-spend-list", "api-budget-list", "api-budget-alert-list", "api-budget-increase-list",
    "api-forecast-portfolio", "api-anomaly-list", "api-council-decision-list",
    "api-council-funding-request-list", "search:index", "api-search",
}  # fmt: skip
# Django's own catch-all at the end of the admin: it answers like the admin's other pages.
ADMIN_CATCH_ALL = "admin/(?P<url>.*)$"
SEAT_ACTIVITY = b"email,last_active\nzeta@example.com,2024-01-01\n"
_PARAM = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>")


def url_patterns(resolver=None, namespace="", route=""):
    """[(name with its namespace, or None; route)] of every URL pattern, walked recursively."""
    found = []
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found += url_patterns(entry, inner, route + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            found.append((f"{namespace}{entry.name}" if entry.name else None, route + str(entry.pattern)))
    return found


def _unnamed_key(route):
    """The table's key of the admin's bare object URL, which Django leaves unnamed."""
    for label in ADMIN_MODELS:
        app, model = label.split(".")
        if route == f"admin/{app}/{model}/<path:object_id>/":
            return f"admin:{app}_{model}_"
    return None


def url_kwargs():
    """{table key: its URL's keyword arguments}, from the first pattern of each name (DRF adds a
    twin with a `format` suffix after each)."""
    kwargs = {}
    for name, route in url_patterns():
        key = name or _unnamed_key(route)
        if key is not None and key not in kwargs:
            kwargs[key] = [a or b for a, b in _PARAM.findall(route)]
    return kwargs


def test_the_table_lists_every_url_pattern_and_only_those():
    """A URL added without a row fails here: give it the answers the product should give."""
    patterns = url_patterns()
    keys = {name or _unnamed_key(route) for name, route in patterns} - {None}
    unnamed = [r for n, r in patterns if n is None and _unnamed_key(r) is None and r != ADMIN_CATCH_ALL]
    table = set(full_matrix())
    registered = {model._meta.label_lower for model in admin.site._registry}

    assert not unnamed, f"Name these URL patterns, then give them a row: {unnamed}"
    assert not keys - table, f"URL names without a row in permission_matrix.py: {sorted(keys - table)}"
    assert not table - keys, f"Rows of URL names that no longer exist: {sorted(table - keys)}"
    assert registered == set(ADMIN_MODELS), (
        f"Admin models not in ADMIN_MODELS: {registered ^ set(ADMIN_MODELS)}"
    )


def test_the_table_keeps_team_a_records_from_team_b_and_shows_them_to_finance_and_admins():
    """A guard on the table itself: team B's 404 for a record of team A is not edited into a 200."""
    kwargs_of = url_kwargs()
    for name, row in full_matrix().items():
        refs = {row.kwargs.get(kwarg) or DEFAULT_KWARGS.get(kwarg) for kwarg in kwargs_of[name]}
        if not refs & TEAM_A_RECORDS:
            continue
        get = row.answers("get")
        assert get["requester_b"] in {"403", "404", "405"}, f"{name}: team B gets {get['requester_b']}"
        assert "404" not in (get["finance"], get["admin"]), f"{name}: finance and admins see every team"


def test_a_refused_post_is_a_refusal():
    for name, row in full_matrix().items():
        if row.post:
            assert set(row.answers("post").values()) <= REFUSALS, name
        if "405" in row.answers("get").values():
            assert row.post, f"{name} takes POST only: say who may not POST to it"


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
def test_each_persona_gets_the_answers_of_the_table(client, cast, persona):
    world = build_world(cast)
    user = None if persona == "anonymous" else getattr(cast, persona)
    if user is not None:
        _log_in(client, user)
    rows, kwargs_of, wrong = full_matrix(), url_kwargs(), []

    for name, row in rows.items():
        path = _path(name, _kwargs(row, name, world, kwargs_of))
        query = row.query.format(**world)
        response = client.get(f"{path}?{query}" if query else path)
        expected, got = row.answers("get")[persona], _answer(response)
        if got != expected:
            wrong.append(f"GET {path} ({name}): expected {expected}, got {got}")
        body = _body(response) if response.status_code == 200 and persona.startswith("requester") else ""
        seen = [marker for marker in TEAM_A_MARKERS if marker in body]
        if persona == "requester_b" and seen:
            wrong.append(f"GET {path} ({name}) shows team B's requester team A's {seen}")
        if persona == "requester_a" and name in LISTS_SHOWING_TEAM_A and not seen:
            wrong.append(f"GET {path} ({name}) no longer shows team A's records to requester A")

    for name, row in rows.items():
        expected = row.answers("post").get(persona) if row.post else None
        if expected is None:
            continue
        path = _path(name, _kwargs(row, name, world, kwargs_of))
        events = AuditEvent.objects.count()
        got = _answer(_post(client, path, _filled(row.data or {}, world), api=path.startswith("/api/")))
        if got != expected:
            wrong.append(f"POST {path} ({name}): expected {expected}, got {got}")
        if AuditEvent.objects.count() != events:
            wrong.append(f"POST {path} ({name}) wrote audit rows")

    assert not wrong, f"{persona}: {len(wrong)} answers differ from the table:\n" + "\n".join(wrong)


def _log_in(client, user):
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")


def _kwargs(row, name, world, kwargs_of):
    values = {}
    for kwarg in kwargs_of[name]:
        ref = row.kwargs.get(kwarg) or DEFAULT_KWARGS[kwarg]
        if ref.startswith("pk_of:"):
            model = apps.get_model(ref.removeprefix("pk_of:"))
            values[kwarg] = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
            assert values[kwarg] is not None, f"{name}: add a {model._meta.label} to matrix_world"
        else:
            values[kwarg] = world[ref]
    return values


def _path(name, kwargs):
    if name.endswith("_"):
        # The admin's bare object URL: its change page's, without the last part.
        return reverse(f"{name}change", kwargs=kwargs).removesuffix("change/")
    return reverse(name, kwargs=kwargs)


def _filled(value, world):
    if isinstance(value, str):
        return value.format(**world)
    if isinstance(value, dict):
        return {k: _filled(v, world) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v, world) for v in value]
    return value


def _post(client, path, data, *, api):
    files = {k: SimpleUploadedFile("zeta.csv", SEAT_ACTIVITY) for k, v in data.items() if v is UPLOAD}
    if files or not api:
        return client.post(path, {**data, **files})
    return client.post(path, json.dumps(data), content_type="application/json")


def _answer(response):
    if response.status_code in (301, 302):
        location = response["Location"]
        if location.startswith("/accounts/login/"):
            return LOGIN
        if location.startswith("/admin/login/"):
            return ADMIN_LOGIN
        return "302"
    return str(response.status_code)


def _body(response):
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")
