"""Factories and fixtures of the gateway tests. They run against the real Redis of `make test`."""

import datetime
import socket
from decimal import Decimal

import factory
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from aifinops.core.models import hash_token
from aifinops.core.tests.factories import UserFactory
from portfolio.tests.factories import AIModelFactory, ProviderFactory
from showback.gateway import counters, policy
from showback.models import AgentPolicy, GatewayKey

from .budget_factories import BudgetFactory


class GatewayKeyFactory(factory.django.DjangoModelFactory):
    """A gateway key; its secret is on the instance as `raw` (only the hash is stored)."""

    class Meta:
        model = GatewayKey

    name = factory.Sequence(lambda n: f"gateway-{n}")
    created_by = factory.SubFactory(UserFactory)
    raw = factory.LazyFunction(GatewayKey.generate_key)
    prefix = factory.LazyAttribute(lambda o: o.raw[:14])
    key_hash = factory.LazyAttribute(lambda o: hash_token(o.raw))

    @classmethod
    def _create(cls, model_class, *args, raw=None, **kwargs):
        key = super()._create(model_class, *args, **kwargs)
        key.raw = raw
        return key


class AgentPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentPolicy
        django_get_or_create = ("use_case",)


def hard_cap(use_case, amount, **kwargs):
    return BudgetFactory(
        scope="use_case", use_case=use_case, mode="hard_cap", amount=Decimal(amount), **kwargs
    )


def gw_keys(client):
    return list(client.scan_iter("gw:*", count=1000))


@pytest.fixture
def redis_clean(settings):
    """The gateway's Redis keys and this process's caches emptied before and after the test."""
    c = counters.counters()
    assert c is not None, "The gateway tests need Redis: run them with make test."

    def clean():
        keys = gw_keys(c.client)
        if keys:
            c.client.delete(*keys)
        policy._local_policies.clear()
        policy._local_keys.clear()

    clean()
    yield c
    clean()


@pytest.fixture
def catalog(db):
    """An approved mid model at $2 / $8 per million tokens, a blocked one and a restricted one."""
    openai = ProviderFactory(slug="openai", name="OpenAI")
    return {
        "ok": AIModelFactory(provider=openai, key="gpt-mini", name="GPT mini"),
        "blocked": AIModelFactory(provider=openai, key="gpt-old", name="GPT old", status="blocked"),
        "restricted": AIModelFactory(provider=openai, key="gpt-big", name="GPT big", status="restricted"),
    }


@pytest.fixture
def gateway_key(cast, catalog):
    """A gateway key of use case A (support-summarizer)."""
    return GatewayKeyFactory(use_case=cast.use_case_a, created_by=cast.owner)


def bearer(raw):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def token_client(user):
    from aifinops.core.models import ApiToken

    raw = ApiToken.generate_key()
    ApiToken.objects.create(user=user, name="test", prefix=raw[:12], key_hash=hash_token(raw))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return client


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def iso(when=None):
    return (when or timezone.now()).astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


def event(request_id, **fields):
    data = {
        "request_id": request_id,
        "timestamp": iso(),
        "model": "openai/gpt-mini",
        "input_tokens": 1000,
        "output_tokens": 500,
    }
    data.update(fields)
    return data
