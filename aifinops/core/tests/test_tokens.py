import pytest
from django.urls import reverse

from aifinops.core.models import ApiToken, AuditEvent, hash_token
from aifinops.core.services import api_token_create

pytestmark = pytest.mark.django_db


def test_token_is_created_in_the_ui_shown_once_and_stored_hashed(login, cast):
    client = login(cast.requester_a)

    response = client.post(reverse("core:profile"), {"name": "LiteLLM gateway"}, follow=True)

    key = response.context["new_key"]
    assert key.startswith("afo_")
    assert key.encode() in response.content
    token = ApiToken.objects.get(user=cast.requester_a)
    assert token.name == "LiteLLM gateway"
    assert token.key_hash == hash_token(key)
    assert not ApiToken.objects.filter(key_hash=key).exists()
    assert AuditEvent.objects.filter(action="api_token.create", object_id=str(token.pk)).exists()
    # Shown once: the next visit no longer has it.
    assert key.encode() not in client.get(reverse("core:profile")).content


def test_token_form_names_the_missing_field(login, cast):
    response = login(cast.requester_a).post(reverse("core:profile"), {"name": ""})

    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert not ApiToken.objects.exists()


def test_token_authenticates_the_api_and_records_last_use(client, cast):
    token, key = api_token_create(user=cast.requester_a, name="ci")

    response = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}")

    assert response.status_code == 200
    assert response.json()["username"] == "req-a"
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_revoked_token_gets_401(login, cast):
    token, key = api_token_create(user=cast.requester_a, name="ci")
    client = login(cast.requester_a)
    client.post(reverse("core:api_token_revoke", args=[token.pk]))
    client.logout()

    response = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}")

    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Invalid or revoked token."
    assert AuditEvent.objects.filter(action="api_token.revoke", object_id=str(token.pk)).exists()


def test_a_user_cannot_revoke_someone_elses_token(login, cast):
    token, _ = api_token_create(user=cast.requester_a, name="ci")

    response = login(cast.requester_b).post(reverse("core:api_token_revoke", args=[token.pk]))

    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_token_can_be_revoked_through_the_api(client, cast):
    token, key = api_token_create(user=cast.requester_a, name="ci")

    response = client.delete(f"/api/v1/tokens/{token.pk}/", HTTP_AUTHORIZATION=f"Token {key}")

    assert response.status_code == 200
    assert response.json()["revoked_at"] is not None
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401
