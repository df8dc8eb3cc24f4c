import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_broker_and_cache(client, settings):
    response = client.get(reverse("core:healthz"))

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "cache"}
    assert all(check["ok"] for check in body["checks"].values())
    if settings.REDIS_URL:
        assert body["checks"]["broker"]["mode"] == "redis"


def test_healthz_answers_503_and_names_the_failing_part(client, settings):
    # Given a cache that nothing listens to (port 1)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    # Django's setting_changed signal rebuilds the cache handlers, so the view sees this cache.
    response = client.get(reverse("core:healthz"))

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["cache"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True
