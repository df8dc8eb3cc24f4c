"""Gateway keys and agent controls on the use-case page, and who may use which key or token."""

import pytest
from django.urls import reverse

from aifinops.core.models import AuditEvent, hash_token
from showback.models import AgentPolicy, GatewayKey

from .gateway_helpers import GatewayKeyFactory, bearer, event, token_client

pytestmark = pytest.mark.django_db


def page(client, use_case):
    return client.get(reverse("portfolio:use_case_tab_agents", args=[use_case.key]))


def test_an_owner_creates_a_key_that_is_shown_once_and_stored_hashed(login, cast, redis_clean):
    client = login(cast.owner)

    response = client.post(
        reverse("showback:gateway_key_create", args=[cast.use_case_a.key]),
        {"name": "litellm-prod", "agent": ""},
    )

    assert response.status_code == 200
    raw = response.context["raw"]
    assert raw.startswith("afo_gw_") and raw in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    key = GatewayKey.objects.get()
    assert (key.key_hash, key.prefix, key.use_case, key.created_by) == (
        hash_token(raw), raw[:14], cast.use_case_a, cast.owner
    )  # fmt: skip
    assert raw not in str(list(GatewayKey.objects.values()))
    assert AuditEvent.objects.filter(action="gateway_key.create", object_id=str(key.pk)).exists()
    listed = page(client, cast.use_case_a).content.decode()
    assert "litellm-prod" in listed and raw not in listed and key.prefix in listed


@pytest.mark.parametrize(
    ("who", "status"),
    [("requester_a", 403), ("finance", 403), ("council", 403), ("requester_b", 404), ("admin", 200)],
)
def test_only_owners_and_admins_create_keys(login, cast, who, status):
    response = login(getattr(cast, who)).post(
        reverse("showback:gateway_key_create", args=[cast.use_case_a.key]), {"name": "k"}
    )

    assert response.status_code == status
    assert GatewayKey.objects.count() == (1 if status == 200 else 0)


def test_a_revoked_key_is_refused_at_once(
    login, cast, gateway_key, redis_clean, django_capture_on_commit_callbacks
):
    client = bearer(gateway_key.raw)
    assert client.post("/api/v1/authorize/", {"model": "gpt-mini"}, format="json").status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        login(cast.owner).post(
            reverse("showback:gateway_key_revoke", args=[cast.use_case_a.key, gateway_key.pk])
        )

    refused = client.post("/api/v1/authorize/", {"model": "gpt-mini"}, format="json")
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "Invalid or revoked gateway key."
    assert client.post("/api/v1/usage-events/", {"events": [event("x")]}, format="json").status_code == 401
    assert AuditEvent.objects.filter(action="gateway_key.revoke").count() == 1


def test_a_key_of_one_use_case_cannot_act_for_another(cast, gateway_key, redis_clean):
    client = bearer(gateway_key.raw)

    authorize = client.post(
        "/api/v1/authorize/", {"model": "gpt-mini", "use_case": cast.use_case_b.key}, format="json"
    )
    usage = client.post(
        "/api/v1/usage-events/", {"events": [event("x", use_case=cast.use_case_b.key)]}, format="json"
    )

    assert authorize.status_code == 403
    assert "support-summarizer" in authorize.json()["error"]["message"]
    assert usage.status_code == 403
    assert usage.json()["error"]["message"].startswith("Event 0: this key acts for the use case")


def test_an_agent_key_acts_for_its_agent_only(cast, catalog, redis_clean):
    key = GatewayKeyFactory(use_case=cast.use_case_a, agent="triage-bot", created_by=cast.owner)
    client = bearer(key.raw)

    own = client.post("/api/v1/authorize/", {"model": "gpt-mini"}, format="json")
    other = client.post("/api/v1/authorize/", {"model": "gpt-mini", "agent_id": "other-bot"}, format="json")

    assert own.json()["agent_id"] == "triage-bot"
    assert other.status_code == 403


def test_a_gateway_key_opens_nothing_else_of_the_api(cast, gateway_key):
    assert bearer(gateway_key.raw).get("/api/v1/use-cases/").status_code == 401
    assert (
        bearer("afo_gw_not-a-key").post("/api/v1/authorize/", {"model": "x"}, format="json").status_code
        == 401
    )
    assert bearer("afo_personal").post("/api/v1/authorize/", {"model": "x"}, format="json").status_code == 401


@pytest.mark.parametrize(
    ("who", "status"),
    [("owner", 200), ("admin", 200), ("requester_a", 403), ("finance", 403), ("requester_b", 404)],
)
def test_personal_tokens_authorize_for_the_use_cases_their_people_run(
    cast, catalog, redis_clean, who, status
):
    response = token_client(getattr(cast, who)).post(
        "/api/v1/authorize/", {"model": "gpt-mini", "use_case": cast.use_case_a.key}, format="json"
    )

    assert response.status_code == status


def test_anonymous_calls_are_refused(client, cast):
    assert (
        client.post("/api/v1/authorize/", {"model": "gpt-mini"}, content_type="application/json").status_code
        == 401
    )
    assert (
        client.post("/api/v1/usage-events/", {"events": []}, content_type="application/json").status_code
        == 401
    )


def test_the_owner_sets_limits_and_the_spend_cap_on_the_page(login, cast, redis_clean):
    response = login(cast.owner).post(
        reverse("showback:agent_controls_update", args=[cast.use_case_a.key]),
        {"spend_cap": "250", "max_steps_per_run": "20", "max_tool_calls_per_run": "40", "warn_at_pct": "90",
         "approval_required": "on"},
    )  # fmt: skip

    assert response.status_code == 302
    policy = AgentPolicy.objects.get(use_case=cast.use_case_a)
    assert (policy.max_steps_per_run, policy.max_tool_calls_per_run) == (20, 40)
    assert (policy.warn_at_pct, policy.approval_required) == (90, True)
    cast.use_case_a.refresh_from_db()
    assert cast.use_case_a.agent_spend_cap == 250
    assert AuditEvent.objects.filter(action="agent_policy.update").count() == 1
    body = page(login(cast.owner), cast.use_case_a).content.decode()
    assert "$250.00" in body and "Waiting for approval" in body


def test_a_team_member_cannot_change_limits_nor_stop_the_agent(login, cast):
    client = login(cast.requester_a)

    limits = client.post(
        reverse("showback:agent_controls_update", args=[cast.use_case_a.key]), {"warn_at_pct": 50}
    )
    stop = client.post(
        reverse("showback:agent_kill_switch_on", args=[cast.use_case_a.key]),
        {"reason": "x", "confirm": "yes"},
    )

    assert (limits.status_code, stop.status_code) == (403, 403)
    assert not AgentPolicy.objects.exists()
    body = page(client, cast.use_case_a).content.decode()
    assert "Kill switch</button>" not in body and "Save limits" not in body


def test_the_kill_switch_says_what_stops_and_acts_only_once_confirmed(login, cast, redis_clean):
    # Given an owner on the use case's page, with one active gateway key
    GatewayKeyFactory(use_case=cast.use_case_a, created_by=cast.owner, name="Support bot key", agent="bot-1")
    client = login(cast.owner)
    url = reverse("showback:agent_kill_switch_on", args=[cast.use_case_a.key])
    body = page(client, cast.use_case_a).content.decode()
    assert "<strong>Stop Support summarizer?</strong> What will happen:" in body
    assert "Calls with its 1 active gateway key are refused: Support bot key" in body

    # When the form is sent without a reason, or without the confirmation
    without_reason = client.post(url, {"reason": "", "confirm": "yes"})
    unconfirmed = client.post(url, {"reason": "Loop on ticket 42"}, follow=True)

    # Then nothing changes, and the page says what is missing
    assert without_reason.status_code == 302
    assert not AgentPolicy.objects.filter(kill_switch=True).exists()
    assert not AuditEvent.objects.filter(action__startswith="agent.kill_switch").exists()
    assert "Confirm the kill switch" in unconfirmed.content.decode()

    # When it is confirmed
    stopped = client.post(url, {"reason": "Loop on ticket 42", "confirm": "yes"}, follow=True)

    # Then it is on, audited, logged, and can be turned back off
    assert AgentPolicy.objects.get(use_case=cast.use_case_a).kill_switch is True
    assert AuditEvent.objects.filter(action="agent.kill_switch_on").count() == 1
    body = stopped.content.decode()
    assert "Kill switch on: Loop on ticket 42" in body
    assert "Turn the kill switch off?" in body
    assert "Calls with its 1 active gateway key are authorized again: Support bot key" in body


def test_the_same_people_turn_the_kill_switch_back_off_once_confirmed_audited(login, cast, redis_clean):
    from showback.gateway import services

    services.agent_kill_switch_set(
        use_case=cast.use_case_a, actor=cast.finance, on=True, reason="Runaway loop", confirm=True
    )
    client = login(cast.owner)
    url = reverse("showback:agent_kill_switch_off", args=[cast.use_case_a.key])

    client.post(url, {})
    assert AgentPolicy.objects.get(use_case=cast.use_case_a).kill_switch is True
    assert not AuditEvent.objects.filter(action="agent.kill_switch_off").exists()

    client.post(url, {"confirm": "yes"})
    assert AgentPolicy.objects.get(use_case=cast.use_case_a).kill_switch is False
    event = AuditEvent.objects.get(action="agent.kill_switch_off")
    assert event.actor == cast.owner and event.after["kill_switch"] is False

    # ... and back on again, by the same people
    client.post(
        reverse("showback:agent_kill_switch_on", args=[cast.use_case_a.key]),
        {"reason": "Again", "confirm": "yes"},
    )
    assert AgentPolicy.objects.get(use_case=cast.use_case_a).kill_switch is True
    assert AuditEvent.objects.filter(action="agent.kill_switch_on").count() == 2


@pytest.mark.parametrize("confirm", ["", "no", "YES%00", "yes%00", "%ED%A0%80", "1" * 10_000])
def test_a_kill_switch_confirm_that_is_not_yes_changes_nothing(login, cast, redis_clean, confirm):
    response = login(cast.finance).post(
        reverse("showback:agent_kill_switch_on", args=[cast.use_case_a.key]),
        f"reason=Loop&confirm={confirm}",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 302
    assert not AgentPolicy.objects.filter(kill_switch=True).exists()


def test_the_page_keeps_a_constant_number_of_queries_with_gateway_data(
    login, cast, gateway_key, redis_clean, django_assert_max_num_queries
):
    from showback.gateway import services

    client = login(cast.owner)
    bearer(gateway_key.raw).post("/api/v1/usage-events/", {"events": [event("a")]}, format="json")
    services.agent_kill_switch_set(
        use_case=cast.use_case_a, actor=cast.owner, on=True, reason="test", confirm=True
    )
    with django_assert_max_num_queries(60) as few:
        page(client, cast.use_case_a)
    baseline = len(few.captured_queries)  # read now: the next request resets the query log

    for n in range(5):
        GatewayKeyFactory(use_case=cast.use_case_a, created_by=cast.owner)
        bearer(gateway_key.raw).post(
            "/api/v1/usage-events/", {"events": [event(f"b{n}", run_id=f"r{n}")]}, format="json"
        )
        services.agent_kill_switch_set(
            use_case=cast.use_case_a, actor=cast.owner, on=n % 2 == 1, reason="test", confirm=True
        )

    with django_assert_max_num_queries(baseline):
        response = page(client, cast.use_case_a)
    assert response.status_code == 200
