"""The model page: price history, status and tier, and adding a price, by page and by API."""

import datetime
import json
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from aifinops.core import periods
from aifinops.core.models import AuditEvent
from portfolio import selectors
from portfolio.choices import PriceKind, PriceTier
from portfolio.models import AIModel, PriceBookEntry

from .factories import AIModelFactory

pytestmark = pytest.mark.django_db

TODAY = periods.today()


def _body(**fields):
    body = {
        "kind": "negotiated",
        "tier": "standard",
        "effective_from": TODAY.isoformat(),
        "input_price_per_mtok": "1.5",
        "output_price_per_mtok": "6",
        "currency": "USD",
        "note": "Enterprise agreement 2026",
    }
    body.update(fields)
    return body


def _api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_an_admin_adds_a_negotiated_price_and_sees_it_in_the_history(cast, login):
    model = AIModelFactory(name="GPT test")
    client = login(cast.admin)

    answer = client.post(reverse("portfolio:model_price_add", args=[model.pk]), _body(), follow=True)

    assert answer.status_code == 200
    text = answer.content.decode()
    assert f"Price added: negotiated price, standard tier, from {TODAY:%-d %b %Y}." in text
    assert "Enterprise agreement 2026" in text
    price = PriceBookEntry.objects.get(model=model)
    assert (price.kind, price.input_price_per_mtok, price.created_by) == (
        "negotiated",
        Decimal("1.5"),
        cast.admin,
    )
    assert AuditEvent.objects.filter(action="ai_model.price_add", object_id=str(model.pk)).exists()


def test_an_admin_changes_status_and_tier_audited(cast, login):
    model = AIModelFactory(status="approved", tier="mid")

    answer = login(cast.admin).post(
        reverse("portfolio:model_update", args=[model.pk]), {"status": "blocked", "tier": "frontier"}
    )

    model.refresh_from_db()
    assert answer.status_code == 302
    assert (model.status, model.tier) == ("blocked", "frontier")
    event = AuditEvent.objects.get(action="ai_model.update", object_id=str(model.pk))
    assert (event.before, event.after) == (
        {"status": "approved", "tier": "mid"},
        {"status": "blocked", "tier": "frontier"},
    )


@pytest.mark.parametrize("persona", ["requester_a", "owner", "council", "chair", "finance"])
def test_only_platform_admins_change_the_catalog(cast, login, persona):
    model = AIModelFactory(status="approved")
    client = login(getattr(cast, persona))

    page = client.get(reverse("portfolio:model_detail", args=[model.pk]))
    add = client.post(reverse("portfolio:model_price_add", args=[model.pk]), _body())
    edit = client.post(
        reverse("portfolio:model_update", args=[model.pk]), {"status": "blocked", "tier": "mid"}
    )
    api = _api(getattr(cast, persona)).post(f"/api/v1/models/{model.pk}/prices/", _body(), format="json")

    assert page.status_code == 200
    assert "Add a price" not in page.content.decode()
    assert (add.status_code, edit.status_code, api.status_code) == (403, 403, 403)
    assert not PriceBookEntry.objects.filter(model=model).exists()
    assert AIModel.objects.get(pk=model.pk).status == "approved"


ADVERSARY = [
    ({"input_price_per_mtok": "-1"}, "input_price_per_mtok"),
    ({"input_price_per_mtok": "0"}, None),  # a free price is a price
    ({"output_price_per_mtok": "1" + "0" * 30}, "output_price_per_mtok"),
    ({"output_price_per_mtok": "NaN"}, "output_price_per_mtok"),
    ({"cache_read_price_per_mtok": "1.0000001"}, "cache_read_price_per_mtok"),
    ({"input_price_per_mtok": ""}, "input_price_per_mtok"),
    ({"note": "nul\x00here"}, "note"),
    ({"note": "lone \ud800 surrogate"}, "note"),
    ({"note": "x" * 5000}, "note"),
    ({"currency": "U\x00D"}, "currency"),
    ({"effective_from": "1999-12-31"}, "effective_from"),
    ({"effective_from": (TODAY + datetime.timedelta(days=1000)).isoformat()}, "effective_from"),
    ({"effective_from": "not a date"}, "effective_from"),
    ({"kind": "secret"}, "kind"),
    ({"tier": "platinum"}, "tier"),
    ({"volume_threshold": "-1"}, "volume_threshold"),
    ({"volume_threshold": "9" * 40}, "volume_threshold"),
    ({"long_context_threshold": "0"}, "long_context_threshold"),
    ({"long_context_output_price_per_mtok": "3"}, "long_context_threshold"),
]


@pytest.mark.parametrize(("fields", "field"), ADVERSARY)
def test_the_price_form_answers_400_naming_the_field(cast, login, fields, field):
    model = AIModelFactory()
    body = _body(**fields)
    url = reverse("portfolio:model_price_add", args=[model.pk])
    if "\ud800" in body["note"]:
        # A form cannot carry a lone surrogate: its UTF-8 bytes arrive as U+FFFD, a character.
        raw = urlencode({**body, "note": "lone"}).replace("note=lone", "note=lone%ED%A0%80")
        answer = login(cast.admin).post(url, raw, content_type="application/x-www-form-urlencoded")
        assert answer.status_code == 302
        assert "\ud800" not in PriceBookEntry.objects.get(model=model).note
        return

    answer = login(cast.admin).post(url, body)

    if field is None:
        assert answer.status_code == 302
        return
    assert answer.status_code == 400
    assert f'id="id_price_{field}-error"' in answer.content.decode()
    assert not PriceBookEntry.objects.filter(model=model).exists()


@pytest.mark.parametrize(("fields", "field"), ADVERSARY)
def test_the_price_api_answers_400_naming_the_field(cast, fields, field):
    model = AIModelFactory()

    # Raw JSON text: a lone surrogate travels as its \ud800 escape.
    raw = json.dumps(_body(**fields))
    answer = _api(cast.admin).post(f"/api/v1/models/{model.pk}/prices/", raw, content_type="application/json")

    if field is None:
        assert answer.status_code == 201, answer.content
        return
    assert answer.status_code == 400, answer.content
    assert field in answer.json()["error"]["fields"]
    assert not PriceBookEntry.objects.filter(model=model).exists()


def test_a_duplicate_price_is_refused_on_the_page_and_in_the_api(cast, login):
    model = AIModelFactory()
    client = login(cast.admin)
    first = client.post(reverse("portfolio:model_price_add", args=[model.pk]), _body())

    page = client.post(reverse("portfolio:model_price_add", args=[model.pk]), _body(input_price_per_mtok="2"))
    api = _api(cast.admin).post(f"/api/v1/models/{model.pk}/prices/", _body(), format="json")

    assert first.status_code == 302
    assert page.status_code == 400
    assert "already has a negotiated standard price from" in page.content.decode()
    assert api.status_code == 400
    assert "effective_from" in api.json()["error"]["fields"]
    assert PriceBookEntry.objects.filter(model=model).count() == 1


def test_the_api_lists_the_book_and_adds_a_price(cast):
    model = AIModelFactory()

    added = _api(cast.admin).post(f"/api/v1/models/{model.pk}/prices/", _body(), format="json")
    listed = _api(cast.requester_a).get(f"/api/v1/models/{model.pk}/prices/")

    assert added.status_code == 201
    assert added.json()["recosted_since"] == TODAY.isoformat()
    assert [(p["kind"], p["input_price_per_mtok"]) for p in listed.json()] == [("negotiated", "1.500000")]


def test_an_unknown_model_is_404(cast, login):
    assert login(cast.admin).get(reverse("portfolio:model_detail", args=[987654])).status_code == 404
    assert _api(cast.admin).post("/api/v1/models/987654/prices/", _body(), format="json").status_code == 404


def test_the_model_page_keeps_a_constant_number_of_queries(cast, login, django_assert_max_num_queries):
    model = AIModelFactory()
    client = login(cast.admin)
    client.get(reverse("portfolio:model_detail", args=[model.pk]))
    for days in range(40):
        PriceBookEntry.objects.create(
            model=model,
            kind="list" if days % 2 else "negotiated",
            effective_from=TODAY - datetime.timedelta(days=days),
            input_price_per_mtok=Decimal(days),
            output_price_per_mtok=Decimal(days),
        )

    with django_assert_max_num_queries(12):
        answer = client.get(reverse("portfolio:model_detail", args=[model.pk]))

    assert answer.status_code == 200
    assert answer.content.decode().count('<span class="badge text-bg-primary">Negotiated</span>') == 20


def test_the_price_history_lists_a_days_service_tiers_in_the_choices_order(cast):
    # Given one day's list prices at every service tier, made in alphabetical order of the tiers
    model = AIModelFactory()
    for tier in sorted(PriceTier.values):
        PriceBookEntry.objects.create(
            model=model,
            kind=PriceKind.LIST,
            tier=tier,
            effective_from=TODAY,
            input_price_per_mtok=Decimal("1"),
            output_price_per_mtok=Decimal("2"),
        )

    # When the price history is read (the model page and the API read this one list)
    tiers = [entry.tier for entry in selectors.model_price_list(model=model)]

    # Then standard comes first, then batch, priority and flex, as the choices run
    assert tiers == PriceTier.values


def _catalog_row(body, model):
    start = body.index(f'href="{reverse("portfolio:model_detail", args=[model.pk])}"')
    return body[start : body.index("</tr>", start)]


def test_the_catalog_shows_the_negotiated_price_in_force_today(cast, login, django_assert_max_num_queries):
    # Given one model with a negotiated price in force (and an older one, and one from tomorrow),
    # one with a negotiated price only above a monthly volume, and one with list prices alone
    negotiated, tiered, listed = AIModelFactory(), AIModelFactory(), AIModelFactory()
    for days, price in ((30, "2.00"), (5, "1.25"), (-1, "0.50")):
        PriceBookEntry.objects.create(
            model=negotiated,
            kind="negotiated",
            effective_from=TODAY - datetime.timedelta(days=days),
            input_price_per_mtok=Decimal(price),
            output_price_per_mtok=Decimal("4"),
        )
    PriceBookEntry.objects.create(
        model=tiered,
        kind="negotiated",
        effective_from=TODAY,
        volume_threshold=1_000_000_000,
        input_price_per_mtok=Decimal("0.10"),
        output_price_per_mtok=Decimal("0.40"),
    )
    client = login(cast.requester_a)
    client.get(reverse("portfolio:model_catalog"))

    # When anyone opens the catalog (in the same number of queries, however many models)
    with django_assert_max_num_queries(12) as counted:
        body = client.get(reverse("portfolio:model_catalog")).content.decode()

    # Then the model priced by negotiation today shows that price, as the costing rule picks it
    in_force = selectors.price_in_force(negotiated, TODAY)
    assert in_force.kind == "negotiated" and in_force.input_price_per_mtok == Decimal("1.25")
    row = _catalog_row(body, negotiated)
    assert "$1.25 negotiated" in row and "$4.00 negotiated" in row
    # ... and the others show none
    assert "negotiated" not in _catalog_row(body, tiered)
    assert "negotiated" not in _catalog_row(body, listed)
    AIModelFactory.create_batch(5)
    with django_assert_max_num_queries(len(counted.captured_queries)):
        client.get(reverse("portfolio:model_catalog"))
