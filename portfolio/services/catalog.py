"""Writes of the model catalog: load the curated catalog, refresh prices from a LiteLLM price file."""

import json
import os
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from aifinops.core import permissions
from aifinops.core.audit import audit_record, snapshot

from ..choices import ModelStatus, ModelTier, ProviderKind
from ..models import PRICE_BOOK_EPOCH, AIModel, Provider
from .prices import price_list_write

CURATED_MODEL_CATALOG = Path(__file__).resolve().parent.parent / "data" / "model_catalog.json"
CATALOG_PROVIDER_FIELDS = ("name", "kind")
CATALOG_PRICE_FIELDS = ("input_price_per_mtok", "output_price_per_mtok", "cached_input_price_per_mtok")
CATALOG_MODEL_FIELDS = (
    "name",
    "tier",
    "status",
    *CATALOG_PRICE_FIELDS,
    "currency",
    "context_window",
    "is_active",
)
CATALOG_MODEL_DEFAULTS = {"status": ModelStatus.APPROVED, "currency": "USD", "is_active": True}
MILLION = Decimal(1_000_000)
PRICE_PLACES = Decimal("0.000001")
# A DecimalField(max_digits=18, decimal_places=6) holds at most 12 digits before the point.
PRICE_LIMIT = Decimal(10) ** 12

# LiteLLM names a provider its own way; "vertex_ai-*" (all of Vertex's model families) is handled apart.
LITELLM_PROVIDERS = {
    "openai": "openai",
    "anthropic": "anthropic",
    "bedrock": "aws-bedrock",
    "bedrock_converse": "aws-bedrock",
    "azure": "azure-openai",
    "mistral": "mistral",
}
# The "provider/key" forms of LiteLLM's model names, e.g. "azure/gpt-4o" or "vertex_ai/gemini-2.0-flash".
LITELLM_NAME_PREFIXES = {
    "openai": ("openai/",),
    "anthropic": ("anthropic/",),
    "aws-bedrock": ("bedrock/", "bedrock_converse/"),
    "azure-openai": ("azure/",),
    "google-vertex": ("vertex_ai/",),
    "mistral": ("mistral/",),
}
LITELLM_PRICE_FIELDS = {
    "input_cost_per_token": "input_price_per_mtok",
    "output_cost_per_token": "output_price_per_mtok",
    "cache_read_input_token_cost": "cached_input_price_per_mtok",
}
# LiteLLM documents its format in an entry of the file itself; it is no model.
LITELLM_SPEC_ENTRY = "sample_spec"


def model_catalog_curated():
    """The curated catalog that ships with the product, as data for `model_catalog_load`."""
    return json.loads(CURATED_MODEL_CATALOG.read_text(encoding="utf-8"))


@transaction.atomic
def model_catalog_load(*, actor, data, keep_prices=False):
    """Create or update providers and models from catalog data, matched on their natural keys.

    `data` is {"providers": [{slug, name, kind}], "models": [{provider, key, name, tier, status,
    input/output/cached_input_price_per_mtok, currency, context_window}]}, as in
    portfolio/data/model_catalog.json. Rows that already match are left alone, so loading the same
    data twice writes nothing. With `keep_prices`, models already in the catalog keep their stored
    prices (a price file refreshes them) and only new models take the data's prices.
    """
    if actor is not None:
        permissions.require(actor, permissions.CHANGE_MODEL_CATALOG)
    provider_specs, model_specs = _catalog_parse(data)
    counts = {
        f"{what}_{outcome}": 0
        for what in ("providers", "models")
        for outcome in ("created", "updated", "unchanged")
    }

    slugs = set(provider_specs) | {slug for slug, _key in model_specs}
    providers = {p.slug: p for p in Provider.objects.filter(slug__in=slugs)}
    for slug, key in model_specs:
        if slug not in providers and slug not in provider_specs:
            raise ValidationError(
                f"Model “{slug}/{key}”: provider “{slug}” is neither in the catalog's providers "
                "nor already known. Add it to the providers list."
            )
    for slug, spec in provider_specs.items():
        provider = providers.get(slug)
        if provider is None:
            provider = Provider(slug=slug, **spec)
            _catalog_clean(provider, f"Provider “{slug}”")
            provider.save()
            audit_record(actor=actor, action="provider.create", obj=provider, after=snapshot(provider))
            providers[slug] = provider
            counts["providers_created"] += 1
        elif _catalog_apply(
            provider, spec, actor=actor, action="provider.update", where=f"Provider “{slug}”"
        ):
            counts["providers_updated"] += 1
        else:
            counts["providers_unchanged"] += 1

    existing = {
        (m.provider.slug, m.key): m
        for m in AIModel.objects.select_related("provider").filter(provider__slug__in=slugs)
    }
    for (slug, key), spec in model_specs.items():
        where = f"Model “{slug}/{key}”"
        model = existing.get((slug, key))
        if model is None:
            model = AIModel(provider=providers[slug], key=key, **{**CATALOG_MODEL_DEFAULTS, **spec})
            _catalog_clean(model, where)
            model.save()
            audit_record(actor=actor, action="ai_model.create", obj=model, after=snapshot(model))
            # The first price the catalog knows is the model's price since always.
            price_list_write(
                actor=actor,
                model=model,
                prices=_book_prices(model),
                source="catalog",
                on_date=PRICE_BOOK_EPOCH,
            )
            counts["models_created"] += 1
            continue
        if keep_prices:
            spec = {field: value for field, value in spec.items() if field not in CATALOG_PRICE_FIELDS}
        prices_change = any(
            getattr(model, field) != spec[field] for field in CATALOG_PRICE_FIELDS if field in spec
        )
        if _catalog_apply(model, spec, actor=actor, action="ai_model.update", where=where):
            if prices_change:
                price_list_write(actor=actor, model=model, prices=_book_prices(model), source="catalog")
            counts["models_updated"] += 1
        else:
            counts["models_unchanged"] += 1
    return counts


def _catalog_parse(data):
    """Check the catalog's shape and values; return ({slug: fields}, {(slug, key): fields})."""
    if not (
        isinstance(data, dict)
        and isinstance(data.get("providers"), list)
        and isinstance(data.get("models"), list)
    ):
        raise ValidationError(
            "The model catalog must be an object with a “providers” list and a “models” list."
        )

    providers = {}
    for number, entry in enumerate(data["providers"], start=1):
        where = f"Provider {number}"
        if not isinstance(entry, dict):
            raise ValidationError(f"{where} must be an object with slug, name and kind.")
        slug = _catalog_text(entry, "slug", where)
        where = f"Provider “{slug}”"
        _catalog_no_other_fields(entry, {"slug", *CATALOG_PROVIDER_FIELDS}, where)
        if slug in providers:
            raise ValidationError(f"{where} is listed twice.")
        providers[slug] = {
            "name": _catalog_text(entry, "name", where),
            "kind": _catalog_choice(entry, "kind", ProviderKind, where),
        }

    models = {}
    for number, entry in enumerate(data["models"], start=1):
        where = f"Model {number}"
        if not isinstance(entry, dict):
            raise ValidationError(f"{where} must be an object with provider, key, name, tier and prices.")
        slug = _catalog_text(entry, "provider", where)
        key = _catalog_text(entry, "key", where)
        where = f"Model “{slug}/{key}”"
        _catalog_no_other_fields(entry, {"provider", "key", *CATALOG_MODEL_FIELDS}, where)
        if (slug, key) in models:
            raise ValidationError(f"{where} is listed twice.")
        spec = {
            "name": _catalog_text(entry, "name", where),
            "tier": _catalog_choice(entry, "tier", ModelTier, where),
        }
        if "status" in entry:
            spec["status"] = _catalog_choice(entry, "status", ModelStatus, where)
        for field in ("input_price_per_mtok", "output_price_per_mtok"):
            spec[field] = _catalog_price(entry.get(field), where=where, field=field)
        if entry.get("cached_input_price_per_mtok") is not None:
            spec["cached_input_price_per_mtok"] = _catalog_price(
                entry["cached_input_price_per_mtok"], where=where, field="cached_input_price_per_mtok"
            )
        else:
            spec["cached_input_price_per_mtok"] = None
        if "currency" in entry:
            spec["currency"] = _catalog_text(entry, "currency", where)
        context = entry.get("context_window")
        if context is not None and (
            isinstance(context, bool) or not isinstance(context, int) or context <= 0
        ):
            raise ValidationError(
                f"{where}, context_window: must be a whole number of tokens, not “{context}”."
            )
        spec["context_window"] = context
        if "is_active" in entry:
            if not isinstance(entry["is_active"], bool):
                raise ValidationError(f"{where}, is_active: must be true or false.")
            spec["is_active"] = entry["is_active"]
        models[slug, key] = spec
    return providers, models


def _catalog_text(entry, field, where):
    value = entry.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{where}, {field}: is required and must be text.")
    return value.strip()


def _catalog_choice(entry, field, choices, where):
    value = entry.get(field)
    if value not in choices.values:
        raise ValidationError(f"{where}, {field}: “{value}” is not one of {', '.join(choices.values)}.")
    return choices(value)


def _catalog_no_other_fields(entry, allowed, where):
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise ValidationError(
            f"{where}: unknown field {', '.join(unknown)}; expected {', '.join(sorted(allowed))}."
        )


def _catalog_price(value, *, where, field):
    """A price per million tokens as a Decimal; text ("2.50") keeps its exact digits."""
    if value is None:
        raise ValidationError(f"{where}, {field}: is required (USD per million tokens).")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValidationError(f"{where}, {field}: must be a price per million tokens, not “{value}”.")
    try:
        price = Decimal(str(value))
    except InvalidOperation:
        raise ValidationError(f"{where}, {field}: “{value}” is not a number.") from None
    return _price_check(price, value, where=where, field=field)


def _price_check(price, value, *, where, field):
    if not price.is_finite():
        raise ValidationError(f"{where}, {field}: “{value}” is not a number.")
    if price < 0:
        raise ValidationError(f"{where}, {field}: {value} is negative; a price cannot be.")
    if price >= PRICE_LIMIT:
        raise ValidationError(f"{where}, {field}: {value} is too large for a price per million tokens.")
    return price


def _catalog_clean(obj, where):
    try:
        obj.full_clean(exclude=["ref"])
    except ValidationError as exc:
        raise ValidationError(
            [f"{where}, {field}: {' '.join(messages)}" for field, messages in exc.message_dict.items()]
        ) from exc


def _catalog_apply(obj, spec, *, actor, action, where):
    """Set the fields of `spec` that differ on `obj`, save and audit; False when none differs."""
    changed = [field for field, value in spec.items() if getattr(obj, field) != value]
    if not changed:
        return False
    before = snapshot(obj, fields=changed)
    for field in changed:
        setattr(obj, field, spec[field])
    _catalog_clean(obj, where)
    obj.save()
    audit_record(actor=actor, action=action, obj=obj, before=before, after=snapshot(obj, fields=changed))
    return True


@transaction.atomic
def model_prices_refresh(*, actor, path_or_data):
    """Refresh the prices of catalog models from a LiteLLM-format price file.

    `path_or_data` is a path, an open file or the parsed JSON: an object keyed by model name whose
    entries carry USD prices per token (input_cost_per_token, output_cost_per_token,
    cache_read_input_token_cost) and their `litellm_provider`. An entry matches a catalog model of
    the same provider whose key is its name, bare ("gpt-4o") or prefixed ("azure/gpt-4o"); the
    bare name wins when both are there. Models are never created; a price the entry lacks is kept.
    A bad value in a matching entry rejects the whole file, and nothing is written.
    """
    if actor is not None:
        permissions.require(actor, permissions.CHANGE_MODEL_CATALOG)
    data = _price_file_read(path_or_data)
    if not isinstance(data, dict):
        raise ValidationError(
            f"The price file must be a JSON object keyed by model name (LiteLLM's format), "
            f"not a {type(data).__name__}."
        )

    catalog = {(m.provider.slug, m.key): m for m in AIModel.objects.select_related("provider")}
    best = {}
    for name, entry in data.items():
        if name == LITELLM_SPEC_ENTRY:
            continue
        if not isinstance(entry, dict):
            raise ValidationError(
                f"Price file entry “{name}” must be an object of prices, not a {type(entry).__name__}."
            )
        slug = _litellm_provider_slug(entry.get("litellm_provider"))
        if slug is None:
            continue
        for rank, key in enumerate(_litellm_keys(name, slug)):
            model = catalog.get((slug, key))
            if model is not None and (model.ref not in best or rank < best[model.ref][0]):
                best[model.ref] = (rank, name, entry, model)

    updates = []
    for _rank, name, entry, model in best.values():
        prices = {}
        for litellm_field, field in LITELLM_PRICE_FIELDS.items():
            if entry.get(litellm_field) is not None:
                prices[field] = _litellm_price(entry[litellm_field], name=name, field=litellm_field)
        changed = {field: price for field, price in prices.items() if getattr(model, field) != price}
        updates.append((model, changed))

    entries = len(data) - (LITELLM_SPEC_ENTRY in data)
    result = {"entries": entries, "matched": len(best), "updated": 0, "unchanged": 0}
    for model, changed in updates:
        if not changed:
            result["unchanged"] += 1
            continue
        before = snapshot(model, fields=changed)
        for field, price in changed.items():
            setattr(model, field, price)
        model.save()
        audit_record(
            actor=actor,
            action="ai_model.update",
            obj=model,
            before=before,
            after=snapshot(model, fields=changed),
        )
        # The refresh feeds the book's list prices, effective today.
        price_list_write(actor=actor, model=model, prices=_book_prices(model), source="litellm")
        result["updated"] += 1
    result["unmatched_catalog_models"] = sorted(m.ref for m in catalog.values() if m.ref not in best)
    return result


def _price_file_read(path_or_data):
    if isinstance(path_or_data, str | os.PathLike):
        try:
            text = Path(path_or_data).read_bytes()
        except OSError as exc:
            raise ValidationError(f"Cannot read the price file {path_or_data}: {exc.strerror}.") from exc
    elif hasattr(path_or_data, "read"):
        text = path_or_data.read()
    else:
        return path_or_data
    try:
        return json.loads(text)
    except UnicodeDecodeError:
        raise ValidationError("The price file is not valid JSON: it is not UTF-8 text.") from None
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"The price file is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from None


def _litellm_provider_slug(litellm_provider):
    if not isinstance(litellm_provider, str):
        return None
    if litellm_provider == "vertex_ai" or litellm_provider.startswith("vertex_ai-"):
        return "google-vertex"
    return LITELLM_PROVIDERS.get(litellm_provider)


def _litellm_keys(name, slug):
    """The catalog keys a LiteLLM model name can stand for, best first."""
    yield name
    for prefix in LITELLM_NAME_PREFIXES.get(slug, ()):
        if name.startswith(prefix):
            yield name.removeprefix(prefix)


def _litellm_price(value, *, name, field):
    """A USD-per-token number as a Decimal per million tokens, exact to six places."""
    where = f"Price file entry “{name}”"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"{where}, {field}: must be a number, not “{value}”.")
    per_token = Decimal(str(value))
    _price_check(per_token, value, where=where, field=field)
    return _price_check(
        (per_token * MILLION).quantize(PRICE_PLACES, rounding=ROUND_HALF_UP), value, where=where, field=field
    )


def _book_prices(model):
    """The catalog's list prices of a model, named as the price book names them."""
    return {
        "input_price_per_mtok": model.input_price_per_mtok,
        "output_price_per_mtok": model.output_price_per_mtok,
        "cache_read_price_per_mtok": model.cached_input_price_per_mtok,
        "currency": model.currency,
    }
