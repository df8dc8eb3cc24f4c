import copy
import gzip
import io
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from aifinops.core import periods
from aifinops.core.models import AuditEvent
from aifinops.core.services import api_token_create
from portfolio import demo
from portfolio.catalog import is_above_recommendation
from portfolio.choices import ModelStatus, ModelTier, TaskKind
from portfolio.models import AIModel, PriceBookEntry, Provider
from portfolio.services import model_catalog_curated, model_catalog_load, model_prices_refresh
from portfolio.tests.factories import AIModelFactory, ProviderFactory

pytestmark = pytest.mark.django_db

# LiteLLM's price file, copied gzip-compressed into the repository (data/README.md).
LITELLM_SAMPLE_GZ = (
    Path(__file__).resolve().parent / "data" / "litellm" / "model_prices_and_context_window_backup.json.gz"
)
PRICE_FIELDS = ("input_price_per_mtok", "output_price_per_mtok", "cached_input_price_per_mtok")


@pytest.fixture
def catalog():
    model_catalog_load(actor=None, data=model_catalog_curated())
    return {m.ref: m for m in AIModel.objects.select_related("provider")}


def prices(ref):
    model = AIModel.objects.get(ref=ref)
    return tuple(getattr(model, field) for field in PRICE_FIELDS)


def all_prices():
    return {m.ref: tuple(getattr(m, f) for f in PRICE_FIELDS) for m in AIModel.objects.all()}


def write_price_file(tmp_path, entries):
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(entries))
    return path


def litellm(provider, price_in, price_out, cached=None, mode="chat"):
    entry = {
        "litellm_provider": provider,
        "mode": mode,
        "input_cost_per_token": price_in,
        "output_cost_per_token": price_out,
        "max_input_tokens": 128000,
    }
    if cached is not None:
        entry["cache_read_input_token_cost"] = cached
    return entry


# Loading the curated catalog


def test_load_creates_the_curated_catalog_with_tiers_statuses_and_prices():
    # Given an empty catalog
    assert not AIModel.objects.exists()

    # When the curated catalog is loaded
    result = model_catalog_load(actor=None, data=model_catalog_curated())

    # Then about 25 models of 7 providers exist, named provider/key
    models = {m.ref: m for m in AIModel.objects.select_related("provider")}
    assert 24 <= len(models) <= 30
    assert result["models_created"] == len(models)
    assert set(Provider.objects.values_list("slug", flat=True)) == {
        "openai",
        "anthropic",
        "aws-bedrock",
        "azure-openai",
        "google-vertex",
        "mistral",
        "self-hosted-gpu",
    }
    assert Provider.objects.get(slug="google-vertex").kind == "cloud_ai"

    # And the tiers follow the routing guidance's scale, every tier in use
    expected_tiers = {
        "openai/gpt-4.1-nano": ModelTier.SMALL,
        "openai/gpt-4o-mini": ModelTier.SMALL,
        "anthropic/claude-3-5-haiku-20241022": ModelTier.SMALL,
        "openai/gpt-4.1-mini": ModelTier.MID,
        "anthropic/claude-sonnet-4-20250514": ModelTier.MID,
        "google-vertex/gemini-2.5-flash": ModelTier.MID,
        "openai/gpt-4.1": ModelTier.FRONTIER,
        "anthropic/claude-opus-4-20250514": ModelTier.FRONTIER,
        "google-vertex/gemini-2.5-pro": ModelTier.FRONTIER,
        "openai/o3": ModelTier.REASONING,
        "openai/o4-mini": ModelTier.REASONING,
        "openai/text-embedding-3-small": ModelTier.EMBEDDING,
    }
    assert {ref: models[ref].tier for ref in expected_tiers} == expected_tiers
    assert {m.tier for m in models.values()} == set(ModelTier.values)

    # And at least one model is restricted and one blocked
    statuses = [m.status for m in models.values()]
    assert ModelStatus.RESTRICTED in statuses
    assert ModelStatus.BLOCKED in statuses

    # And prices are exact decimals per million tokens
    gpt41 = models["openai/gpt-4.1"]
    assert (gpt41.input_price_per_mtok, gpt41.output_price_per_mtok, gpt41.cached_input_price_per_mtok) == (
        Decimal("2.00"),
        Decimal("8.00"),
        Decimal("0.50"),
    )
    assert gpt41.context_window == 1_047_576
    assert models["openai/text-embedding-3-small"].cached_input_price_per_mtok is None

    # And one audit event was written per created row
    assert AuditEvent.objects.filter(action="provider.create").count() == 7
    assert AuditEvent.objects.filter(action="ai_model.create").count() == len(models)


def test_loading_the_catalog_twice_writes_nothing_the_second_time(catalog):
    # Given a loaded catalog
    events = AuditEvent.objects.count()

    # When it is loaded again
    result = model_catalog_load(actor=None, data=model_catalog_curated())

    # Then nothing is created or changed and no audit event is written
    assert result["models_created"] == result["models_updated"] == result["providers_created"] == 0
    assert result["models_unchanged"] == len(catalog)
    assert AuditEvent.objects.count() == events


def test_loading_changed_data_updates_the_changed_models_and_audits_them(catalog):
    # Given curated data where one price and one status changed
    data = model_catalog_curated()
    for entry in data["models"]:
        if entry["provider"] == "openai" and entry["key"] == "gpt-4.1":
            entry["input_price_per_mtok"] = "1.80"
            entry["status"] = "restricted"

    # When it is loaded
    result = model_catalog_load(actor=None, data=data)

    # Then that model alone is updated, with its before and after in the audit log
    assert result["models_updated"] == 1
    gpt41 = AIModel.objects.get(ref="openai/gpt-4.1")
    assert (gpt41.input_price_per_mtok, gpt41.status) == (Decimal("1.80"), ModelStatus.RESTRICTED)
    event = AuditEvent.objects.get(action="ai_model.update")
    assert event.before == {"input_price_per_mtok": "2.000000", "status": "approved"}
    assert event.after == {"input_price_per_mtok": "1.80", "status": "restricted"}


def test_the_curated_catalog_has_every_model_the_demo_uses():
    # Given the models the demo use cases spread their spend over
    used = {(provider, key) for spec in demo.USE_CASES for provider, key, _share in spec["models"]}

    # When the curated catalog is read
    curated = {(m["provider"], m["key"]) for m in model_catalog_curated()["models"]}

    # Then each one is in it
    assert used <= curated


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tier": "premium"}, "tier: “premium” is not one of small, mid, frontier, reasoning, embedding"),
        ({"input_price_per_mtok": "-1"}, "input_price_per_mtok: -1 is negative"),
        ({"output_price_per_mtok": "lots"}, "output_price_per_mtok: “lots” is not a number"),
        (
            {"output_price_per_mtok": "0.0000001"},
            "output_price_per_mtok: Ensure that there are no more than 6",
        ),
        ({"context_window": "big"}, "context_window: must be a whole number of tokens"),
        ({"price_in": "2"}, "unknown field price_in"),
    ],
)
def test_a_bad_catalog_entry_is_rejected_by_name_and_nothing_is_written(change, message):
    # Given curated data with one bad entry, after good ones
    data = copy.deepcopy(model_catalog_curated())
    data["models"].append(
        {
            "provider": "openai",
            "key": "gpt-bad",
            "name": "Bad",
            "tier": "mid",
            "input_price_per_mtok": "1",
            "output_price_per_mtok": "2",
            **change,
        }
    )

    # When it is loaded, then the error names the entry and the field
    with pytest.raises(ValidationError) as error:
        model_catalog_load(actor=None, data=data)
    assert "Model “openai/gpt-bad”" in str(error.value)
    assert message in str(error.value)

    # And nothing was written
    assert not AIModel.objects.exists()
    assert not Provider.objects.exists()
    assert not AuditEvent.objects.exists()


def test_only_platform_admins_change_the_catalog(cast, tmp_path):
    with pytest.raises(PermissionDenied):
        model_catalog_load(actor=cast.requester_a, data=model_catalog_curated())
    with pytest.raises(PermissionDenied):
        model_prices_refresh(actor=cast.finance, path_or_data={})

    result = model_catalog_load(actor=cast.admin, data=model_catalog_curated())

    assert result["models_created"] > 0
    assert AuditEvent.objects.filter(action="ai_model.create", actor=cast.admin).exists()


# Refreshing prices from a LiteLLM price file


def test_refresh_converts_per_token_prices_to_exact_prices_per_million(catalog, tmp_path):
    # Given a LiteLLM-format file with new prices for some catalog models, in bare and provider/key forms
    path = write_price_file(
        tmp_path,
        {
            "sample_spec": {"litellm_provider": "one of the providers", "max_input_tokens": "text"},
            "gpt-4.1": litellm("openai", 2.1e-06, 8.4e-06, cached=5.25e-07),
            "gpt-4o-mini": litellm("openai", 1.5e-07, 6e-07, cached=7.5e-08),
            "azure/gpt-4o-mini": litellm("azure", 1.234567e-07, 6.6e-07),
            "azure/eu/gpt-4o": litellm("azure", 9e-06, 9e-06),
            "vertex_ai/gemini-2.5-flash": litellm("vertex_ai-language-models", 3e-07, 2.5e-06, cached=3e-08),
            "bedrock/amazon.nova-pro-v1:0": litellm("bedrock_converse", 8e-07, 3.2e-06, cached=2e-07),
            "mistral/mistral-small-latest": litellm("mistral", 1.5e-07, 6e-07, cached=1.5e-08),
            "gpt-4o": litellm("openai", 5e-06, 2e-05),
            "some-other-model": litellm("fireworks_ai", 1e-06, 1e-06),
        },
    )
    events = AuditEvent.objects.count()

    # When the prices are refreshed
    result = model_prices_refresh(actor=None, path_or_data=path)

    # Then the matching models carry the file's prices per million tokens, exactly
    assert prices("openai/gpt-4.1") == (Decimal("2.1"), Decimal("8.4"), Decimal("0.525"))
    assert prices("azure-openai/gpt-4o-mini") == (Decimal("0.123457"), Decimal("0.66"), Decimal("0.083"))
    assert prices("mistral/mistral-small-latest") == (Decimal("0.15"), Decimal("0.6"), Decimal("0.015"))
    assert prices("google-vertex/gemini-2.5-flash") == (Decimal("0.3"), Decimal("2.5"), Decimal("0.03"))
    assert AIModel.objects.get(ref="openai/gpt-4.1").input_price_per_mtok.as_tuple().exponent == -6

    # And a region variant or another provider's model of the same name changed nothing
    assert prices("azure-openai/gpt-4o") == (Decimal("2.50"), Decimal("10.00"), Decimal("1.25"))

    # And the counts say what happened, naming the catalog models the file does not price
    assert result["matched"] == 6
    assert result["updated"] == 3
    assert result["unchanged"] == 3
    assert "self-hosted-gpu/llama-3.1-8b-instruct" in result["unmatched_catalog_models"]
    assert "azure-openai/gpt-4o" in result["unmatched_catalog_models"]
    assert "openai/gpt-4.1" not in result["unmatched_catalog_models"]
    assert len(result["unmatched_catalog_models"]) == len(catalog) - 6

    # And one audit event per updated model records the old and new prices, and one more the list
    # price it adds to the price book, effective today
    updates = AuditEvent.objects.filter(action="ai_model.update")
    assert AuditEvent.objects.count() == events + 6
    assert PriceBookEntry.objects.filter(source="litellm", effective_from=periods.today()).count() == 3
    gpt41 = updates.get(object_repr="GPT-4.1")
    assert gpt41.before["input_price_per_mtok"] == "2.000000"
    assert gpt41.after["input_price_per_mtok"] == "2.100000"

    # And a second refresh from the same file changes nothing
    again = model_prices_refresh(actor=None, path_or_data=path)
    assert (again["updated"], again["unchanged"]) == (0, 6)
    assert AuditEvent.objects.count() == events + 6


def test_refresh_never_creates_models_and_keeps_prices_the_file_lacks(catalog):
    # Given a file with a model the catalog lacks and an entry without a cached-input price
    data = {
        "gpt-99": litellm("openai", 1e-06, 1e-06),
        "o3": {"litellm_provider": "openai", "input_cost_per_token": 1e-06, "output_cost_per_token": 4e-06},
    }

    # When the prices are refreshed
    model_prices_refresh(actor=None, path_or_data=data)

    # Then no model was created and o3 keeps its cached-input price
    assert AIModel.objects.count() == len(catalog)
    assert prices("openai/o3") == (Decimal("1"), Decimal("4"), Decimal("0.50"))


def test_refresh_prefers_the_bare_name_to_the_prefixed_one(catalog):
    data = {
        "mistral/mistral-medium-latest": litellm("mistral", 9e-06, 9e-06),
        "mistral-medium-latest": litellm("mistral", 1e-06, 3e-06),
    }

    model_prices_refresh(actor=None, path_or_data=data)

    assert prices("mistral/mistral-medium-latest")[:2] == (Decimal("1"), Decimal("3"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "The price file is not valid JSON: Expecting property name"),
        ("[1, 2]", "must be a JSON object keyed by model name"),
        ('{"gpt-4.1": [1]}', "Price file entry “gpt-4.1” must be an object of prices"),
        (
            '{"gpt-4o-mini": {"litellm_provider": "openai", "input_cost_per_token": 1e-07},'
            ' "gpt-4.1": {"litellm_provider": "openai", "input_cost_per_token": "cheap"}}',
            "Price file entry “gpt-4.1”, input_cost_per_token: must be a number, not “cheap”",
        ),
        (
            '{"gpt-4o-mini": {"litellm_provider": "openai", "input_cost_per_token": 1e-07},'
            ' "azure/gpt-4o": {"litellm_provider": "azure", "output_cost_per_token": -1e-06}}',
            "Price file entry “azure/gpt-4o”, output_cost_per_token: -1e-06 is negative",
        ),
        (
            '{"o3": {"litellm_provider": "openai", "cache_read_input_token_cost": NaN}}',
            "Price file entry “o3”, cache_read_input_token_cost: “nan” is not a number",
        ),
    ],
)
def test_a_bad_price_file_is_rejected_by_entry_and_field_and_nothing_changes(
    catalog, tmp_path, content, message
):
    # Given a price file that is broken, sometimes after an entry that would have changed a price
    path = tmp_path / "prices.json"
    path.write_text(content)
    before = all_prices()
    events = AuditEvent.objects.count()

    # When the prices are refreshed, then the error names the entry and field
    with pytest.raises(ValidationError) as error:
        model_prices_refresh(actor=None, path_or_data=path)
    assert message in " ".join(error.value.messages)

    # And no price changed and no audit event was written
    assert all_prices() == before
    assert AuditEvent.objects.count() == events


def test_a_missing_price_file_is_a_validation_error(tmp_path):
    with pytest.raises(ValidationError, match="Cannot read the price file"):
        model_prices_refresh(actor=None, path_or_data=tmp_path / "absent.json")


@pytest.fixture
def litellm_price_file(tmp_path):
    """LiteLLM's price file of thousands of models, as it is published (uncompressed)."""
    path = tmp_path / "model_prices_and_context_window_backup.json"
    path.write_bytes(gzip.decompress(LITELLM_SAMPLE_GZ.read_bytes()))
    return path


def test_refresh_from_the_shared_litellm_price_file(catalog, litellm_price_file):
    # Given the curated catalog and LiteLLM's price file of thousands of models
    # When the prices are refreshed from it
    result = model_prices_refresh(actor=None, path_or_data=litellm_price_file)

    # Then most catalog models are matched, the self-hosted ones are not, and prices stay sane
    assert result["entries"] > 1000
    assert result["matched"] >= 15
    assert result["matched"] + len(result["unmatched_catalog_models"]) == len(catalog)
    assert "self-hosted-gpu/llama-3.1-70b-instruct" in result["unmatched_catalog_models"]
    assert prices("openai/gpt-4.1")[:2] == (Decimal("2"), Decimal("8"))
    assert prices("aws-bedrock/amazon.titan-embed-text-v2:0")[0] == Decimal("0.02")
    assert AuditEvent.objects.filter(action="ai_model.update").count() == result["updated"]

    # And refreshing again changes nothing
    assert model_prices_refresh(actor=None, path_or_data=litellm_price_file)["updated"] == 0


# The management command


def run_command(*args):
    out = io.StringIO()
    call_command("load_model_catalog", *args, stdout=out)
    return out.getvalue()


def test_command_loads_the_catalog_and_refreshes_prices_idempotently(tmp_path):
    # Given a small price file
    path = write_price_file(tmp_path, {"gpt-4.1": litellm("openai", 1.9e-06, 7.6e-06, cached=4.75e-07)})

    # When the command runs with it
    output = run_command("--prices", str(path))

    # Then the catalog is loaded, the price refreshed, and both are summed up
    assert AIModel.objects.count() >= 24
    assert f"models {len(model_catalog_curated()['models'])} created" in output
    assert f"Prices from {path}: 1 models matched, 1 updated, 0 unchanged" in output
    assert prices("openai/gpt-4.1") == (Decimal("1.9"), Decimal("7.6"), Decimal("0.475"))

    # And running it again writes nothing: the curated prices do not undo the refresh
    events = AuditEvent.objects.count()
    again = run_command("--prices", str(path))
    assert "0 created, 0 updated" in again
    assert "1 models matched, 0 updated, 1 unchanged" in again
    assert AuditEvent.objects.count() == events
    assert prices("openai/gpt-4.1")[0] == Decimal("1.9")


def test_command_with_a_bad_price_file_fails_and_loads_nothing(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text('{"gpt-4.1": {"litellm_provider": "openai", "input_cost_per_token": "free"}}')

    with pytest.raises(CommandError, match=re.escape("“gpt-4.1”, input_cost_per_token")):
        run_command("--prices", str(path))

    assert not AIModel.objects.exists()
    assert not AuditEvent.objects.exists()


def test_command_with_the_shared_litellm_price_file(litellm_price_file):
    output = run_command("--prices", str(litellm_price_file))

    assert "Model catalog: providers 7 created" in output
    assert "not in the file" in output
    assert "self-hosted-gpu/llama-3.1-8b-instruct" in output


# Routing guidance


def test_routing_guidance_flags_a_bigger_tier_than_the_task_needs():
    frontier = AIModelFactory.build(tier=ModelTier.FRONTIER)
    mid = AIModelFactory.build(tier=ModelTier.MID)
    embedding = AIModelFactory.build(tier=ModelTier.EMBEDDING)

    assert is_above_recommendation(frontier, TaskKind.CLASSIFICATION) is True
    assert is_above_recommendation(mid, TaskKind.DRAFTING) is False
    assert not any(is_above_recommendation(embedding, task) for task in TaskKind.values)


# The catalog page


def test_catalog_page_shows_prices_statuses_and_routing_guidance(login, cast, catalog):
    # Given a requester and the curated catalog
    # When they open the model catalog
    response = login(cast.requester_a).get(reverse("portfolio:model_catalog"))

    # Then they see models by provider, with tier, status and prices per million tokens
    assert response.status_code == 200
    page = response.content.decode()
    assert "Google Vertex AI" in page
    assert "<code>openai/gpt-4.1</code>" in page
    assert "$2.00" in page and "$8.00" in page and "$0.50" in page
    assert "1,047,576" in page
    assert "Restricted (needs review)" in page
    assert "Blocked" in page

    # And the routing guidance explains that a bigger tier than needed is flagged at intake
    assert "Routing guidance" in page
    assert "frontier by default" in page
    assert "Hard multi-step problems" in page


def test_catalog_page_is_linked_from_the_portfolio(login, cast):
    response = login(cast.requester_a).get(reverse("portfolio:use_case_list"))

    assert reverse("portfolio:model_catalog").encode() in response.content


def test_catalog_page_needs_a_login(client):
    response = client.get(reverse("portfolio:model_catalog"))

    assert response.status_code == 302
    assert reverse("core:login") in response["Location"]


def test_catalog_page_keeps_a_constant_number_of_queries(login, cast, django_assert_max_num_queries):
    # Given a small catalog, and the page already opened once
    AIModelFactory.create_batch(2)
    client = login(cast.requester_a)
    client.get(reverse("portfolio:model_catalog"))

    # When the catalog grows by many models over many providers
    for _ in range(10):
        AIModelFactory.create_batch(3, provider=ProviderFactory())

    # Then the page still takes the same few queries
    with django_assert_max_num_queries(8):
        response = client.get(reverse("portfolio:model_catalog"))
    assert len(response.context["models"]) == 32


# The API


@pytest.fixture
def api(client, cast):
    _, key = api_token_create(user=cast.requester_a, name="tests")
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {key}"
    return client


def test_api_lists_models_with_ref_and_status(api, catalog):
    response = api.get("/api/v1/models/?page_size=100")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == len(catalog)
    gpt41 = next(m for m in body["results"] if m["ref"] == "openai/gpt-4.1")
    assert gpt41["status"] == "approved"
    assert gpt41["provider"] == "openai"
    assert gpt41["tier"] == "frontier"
    assert gpt41["input_price_per_mtok"] == "2.000000"


def test_api_filters_models_by_status_tier_and_provider(api, catalog):
    blocked = api.get("/api/v1/models/?status=blocked").json()["results"]
    vertex = api.get("/api/v1/models/?provider=google-vertex").json()["results"]
    reasoning = api.get("/api/v1/models/?tier=reasoning&status=approved").json()["results"]

    assert {m["ref"] for m in blocked} == {
        ref for ref, m in catalog.items() if m.status == ModelStatus.BLOCKED
    }
    assert blocked and all(m["status"] == "blocked" for m in blocked)
    assert {m["provider"] for m in vertex} == {"google-vertex"}
    assert {m["ref"] for m in reasoning} == {"openai/o3", "openai/o4-mini"}
    assert api.get("/api/v1/models/?status=premium").status_code == 400
