"""API fuzzing (schemathesis): every operation of /api/schema/, as a platform admin and as a requester.

Given the demo data and a personal API token, when schemathesis sends generated requests (valid and
invalid bodies, query strings and path parameters, some of them naming real objects) to every
operation through the WSGI application, then no answer is a 5xx and every answer matches the schema:
its status code is documented, its content type is, and its body validates against the documented
response schema.

Bounded: a few examples per operation, no shrinking, so that both runs take well under a minute;
on CI the draws are derandomized (the same every run), elsewhere each run draws new ones.
"""

import datetime
import os
import re
import time
import warnings

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.urls import Resolver404, resolve
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from aifinops.core.roles import Role
from aifinops.core.services import api_token_create
from aifinops.core.tests.factories import UserFactory
from aifinops.wsgi import application
from portfolio.models import Membership, Team

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", 4))
# Operations left out of the fuzzing, and why. None is.
EXCLUDED = {}
# Failures found in code that other engineers are changing right now, reported to them: on these
# operations only the named check is tolerated (every other check still runs), and the test warns
# while any are. Remove an entry once its owner has fixed it.
KNOWN: dict = {}


@pytest.fixture
def fuzz_data(demo):
    admin = UserFactory(username="fuzz-admin", roles=[Role.PLATFORM_ADMIN], is_superuser=True)
    requester = UserFactory(username="fuzz-requester", roles=[Role.REQUESTER])
    Membership.objects.create(user=requester, team=Team.objects.order_by("pk").first())
    return {
        "admin": api_token_create(user=admin, name="fuzz")[1],
        "requester": api_token_create(user=requester, name="fuzz")[1],
    }


@pytest.fixture
def wsgi_app():
    """The Django WSGI application, without closing the test's database connection at the end of
    each request (what Django's own test client does too): the requests run on the test's
    connection and see its data."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield application
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _known_values(path):
    """Real lookup values for the path's parameters: the primary keys (or slugs, keys) of the
    objects the view serves, so that generated requests also reach past the 404."""
    concrete = re.sub(r"\{[^}]+\}", "1", path)
    try:
        match = resolve(concrete)
    except Resolver404:
        return {}
    view = getattr(match.func, "cls", None) or getattr(match.func, "view_class", None)
    queryset = getattr(view, "queryset", None)
    model = queryset.model if queryset is not None else None
    if model is None:
        serializer = getattr(view, "serializer_class", None)
        model = getattr(getattr(serializer, "Meta", None), "model", None)
    if model is None:
        return {}
    values = {}
    for name in re.findall(r"\{([^}]+)\}", path):
        field = getattr(view, "lookup_field", "pk") if name in ("id", "pk") else name
        field = "pk" if field == "id" else field
        if field != "pk" and field not in {f.name for f in model._meta.get_fields()}:
            continue  # not a field of the model (a team slug, a year, a month)
        values[name] = list(model.objects.values_list(field, flat=True).order_by("pk")[:20])
    return values


def _api_schema(wsgi_app, token):
    schema = schemathesis.openapi.from_wsgi(
        "/api/schema/?format=json", wsgi_app, headers={"Authorization": f"Token {token}"}
    )
    known = {}

    @schema.hook
    def flatmap_path_parameters(context, path_parameters):
        path = context.operation.path
        if path not in known:
            known[path] = _known_values("/api/v1" + path if not path.startswith("/api") else path)
        choices = {name: values for name, values in known[path].items() if values and name in path_parameters}
        if not choices:
            return st.just(path_parameters)
        return st.fixed_dictionaries(
            {
                name: st.sampled_from([value, *choices.get(name, [])])
                for name, value in path_parameters.items()
            }
        )

    return schema


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=list(HealthCheck),
    database=None,
)


class _Undo(Exception):
    """Rolls back one request's writes, so that every request meets the same data and a failed
    statement cannot poison the requests after it."""


def _send(case, headers):
    try:
        with transaction.atomic():
            raise _Undo(case.call(headers=headers))
    except _Undo as undo:
        return undo.args[0]


def _known(operation):
    return next((known for prefix, known in KNOWN.items() if operation.path.startswith(prefix)), None)


def _fuzz(operation, who, token):
    """The failures found on one operation as one user: "" when there are none."""
    headers = {"Authorization": f"Token {token}"}
    tolerated = (_known(operation) or (set(), ""))[0]
    checks = [check for check in CHECKS if check.__name__ not in tolerated]
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
    )

    @FUZZ
    @given(case=strategy)
    def run(case):
        case.validate_response(_send(case, headers), checks=checks)

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:
        return f"{operation.label} as {who}:\n{exc}"
    return ""


def test_the_api_never_fails_and_answers_as_its_schema_says(fuzz_data, wsgi_app):
    schema = _api_schema(wsgi_app, fuzz_data["admin"])
    operations = [result.ok() for result in schema.get_all_operations()]
    started = time.monotonic()

    failures = [
        _fuzz(operation, who, fuzz_data[who])
        for operation in operations
        if operation.label not in EXCLUDED
        for who in ("admin", "requester")
    ]

    failures = [failure for failure in failures if failure]
    assert len(operations) > 50, "the schema lists the API's operations"
    assert not failures, f"{len(failures)} failing:\n\n" + "\n\n".join(failures)
    # A bound that keeps the fuzzing cheap (examples per operation set it), not a benchmark.
    assert time.monotonic() - started < 180
    known = sorted({_known(o)[1] for o in operations if _known(o)})
    if known:
        warnings.warn("API fuzzing tolerates known failures: " + "; ".join(known), stacklevel=1)


# What the fuzzing found, pinned


@pytest.fixture
def owner_client(client, cast):
    token = api_token_create(user=cast.owner, name="tests")[1]
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {token}"
    return client


def test_a_json_body_that_is_not_an_object_is_a_400_that_says_so(owner_client):
    response = owner_client.post("/api/v1/milestones/", "false", content_type="application/json")

    assert response.status_code == 400
    assert "must be a JSON object" in response.json()["error"]["message"]


def test_an_object_where_a_form_expects_one_value_is_a_400_naming_the_field(owner_client, cast):
    body = {"use_case": cast.use_case_a.key, "name": "Pilot", "due_date": {"day": 1}}

    response = owner_client.post("/api/v1/milestones/", body, content_type="application/json")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["due_date"]


def _next_month():
    """A due date a milestone may take (today or later), whatever today is."""
    return (timezone.localdate() + datetime.timedelta(days=30)).isoformat()


def test_numbers_and_booleans_in_json_reach_the_form_as_text(owner_client, cast):
    body = {"use_case": cast.use_case_a.key, "name": 2026, "due_date": _next_month(), "target_stage": ""}

    response = owner_client.post("/api/v1/milestones/", body, content_type="application/json")

    assert response.status_code == 201, response.json()
    assert response.json()["name"] == "2026"


def test_a_nul_character_in_a_use_case_key_is_a_400_not_a_database_error(owner_client):
    body = {"use_case": "support\x00", "name": "Pilot", "due_date": _next_month()}

    response = owner_client.post("/api/v1/milestones/", body, content_type="application/json")

    assert response.status_code == 400
    assert "use_case" in response.json()["error"]["fields"]


def test_an_unknown_api_path_answers_the_api_error_body(owner_client):
    response = owner_client.get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert response.json() == {"error": {"status": 404, "code": "not_found", "message": "Not found."}}


def test_the_schema_documents_the_error_answers_with_the_error_body(owner_client):
    schema = owner_client.get("/api/schema/?format=json").json()

    detail = schema["paths"]["/api/v1/milestones/{id}/"]
    assert {"401", "403", "404", "429"} <= set(detail["get"]["responses"])
    assert {"400", "409", "415"} <= set(detail["patch"]["responses"])
    error = detail["get"]["responses"]["404"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/Error"}
    assert schema["components"]["schemas"]["Error"]["required"] == ["error"]
