"""FOCUS 1.0 to 1.3 cost and usage CSV (cloud bills, SaaS and AI vendors): the cost of record.

Mapping onto CanonicalRow (stored under 1.2 names):

- BilledCost → billed_cost (required); EffectiveCost → effective_cost, ListCost → list_cost (each falls
  back to the one before when the column is absent or empty); ContractedCost goes to raw_extras.
- BillingCurrency (ISO 4217) → currency. PricingCurrency* (virtual currencies: tokens, credits) stay in
  raw_extras: they are units, the billing currency is the money.
- ChargePeriodStart / ChargePeriodEnd → the period (UTC; end before start is an error).
- ServiceProviderName (1.3), else ProviderName → provider_name; HostProviderName (1.3) is kept in
  raw_extras as PublisherName when the file has no PublisherName.
- ServiceName, ServiceCategory; is_ai when ServiceCategory is "AI and Machine Learning".
- Model and token direction from SkuPriceDetails / x_ columns, a Bedrock model ARN in ResourceId /
  ResourceName, SkuMeter ("gpt-4o-0513-Inp-glbl Tokens", "USE1-Claude3.5Sonnet-output-tokens") or
  ChargeDescription ("$0.003 per 1K cache read input tokens for Claude 3.5 Sonnet").
- ConsumedQuantity / ConsumedUnit → quantity / unit, in single tokens when the unit is a token unit.
- BillingAccountId → billing_account; SubAccountId (else SubAccountName) → sub_account; Tags → tags.
- Every other non-empty column (ChargeCategory, ChargeClass, x_ columns…) → raw_extras, as text, as it
  stands in the file (a null spelling such as "NULL" is empty and left out).

FOCUS rows have no id: source_row_key hashes the row's non-empty (column, value) pairs, values as
they stand in the file (so the PostgreSQL bulk path computes the same key in SQL), so column order
and added empty columns do not change it. Two byte-identical rows count as one charge.
"""

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import BinaryIO

from ...categories import AI_CATEGORY, is_ai_category
from .base import CanonicalRow, Importer, RowError
from .common import (
    MAX_QUANTITY,
    ColumnError,
    content_hash,
    parse_currency,
    parse_decimal,
    parse_money,
    parse_period,
    parse_tags,
    row_error,
    token_unit_multiplier,
)
from .readers import CsvReader, head_columns

REQUIRED = ("BilledCost", "BillingCurrency", "ChargePeriodStart", "ChargePeriodEnd")
PROVIDER_COLUMNS = ("ServiceProviderName", "ProviderName")
_FOCUS_COLUMNS = """
    AllocatedMethodDetails AllocatedMethodId AllocatedResourceId AllocatedResourceName AllocatedTags
    AvailabilityZone BilledCost BillingAccountId BillingAccountName BillingAccountType BillingCurrency
    BillingPeriodEnd BillingPeriodStart CapacityReservationId CapacityReservationStatus ChargeCategory
    ChargeClass ChargeDescription ChargeFrequency ChargePeriodEnd ChargePeriodStart
    CommitmentDiscountCategory CommitmentDiscountId CommitmentDiscountName CommitmentDiscountQuantity
    CommitmentDiscountStatus CommitmentDiscountType CommitmentDiscountUnit ConsumedQuantity ConsumedUnit
    ContractApplied ContractedCost ContractedUnitPrice EffectiveCost HostProviderName InvoiceId
    InvoiceIssuerName ListCost ListUnitPrice PricingCategory PricingCurrency
    PricingCurrencyContractedUnitPrice PricingCurrencyEffectiveCost PricingCurrencyListUnitPrice
    PricingQuantity PricingUnit ProviderName PublisherName RegionId RegionName ResourceId ResourceName
    ResourceType ServiceCategory ServiceName ServiceProviderName ServiceSubcategory SkuId SkuMeter
    SkuPriceDetails SkuPriceId SubAccountId SubAccountName SubAccountType Tags
"""
FOCUS_COLUMNS = frozenset(_FOCUS_COLUMNS.split())
MAPPED = frozenset(
    {
        "BilledCost",
        "EffectiveCost",
        "ListCost",
        "BillingCurrency",
        "ChargePeriodStart",
        "ChargePeriodEnd",
        "ServiceProviderName",
        "ProviderName",
        "ServiceName",
        "ServiceCategory",
        "BillingAccountId",
        "SubAccountId",
        "Tags",
    }
)

_DIRECTIONS = (
    ("cache_write", re.compile(r"cache[\s_-]*(?:write|creation)|cachewrite")),
    ("cached_input", re.compile(r"cache[\s_-]*(?:read|hit)|cached")),
    ("reasoning", re.compile(r"reasoning")),
    ("output", re.compile(r"(?<![a-z])(?:output|outp(?![a-z])|completion)")),
    ("input", re.compile(r"(?<![a-z])(?:input|inp(?![a-z])|prompt)")),
)
_METER_SPLIT = re.compile(
    r"[\s_-]+(?:cached[\s_-]+)?(?:cache[\s_-]*(?:read|write)[\s_-]*)?"
    r"(?:inp|input|outp|output|prompt|completion|reasoning)(?![a-z])",
    re.IGNORECASE,
)
_REGION_PREFIX = re.compile(r"^[A-Z]{2,4}\d{0,2}-(?:MP:)?")
_DESCRIPTION_MODEL = re.compile(r"tokens?\s+for\s+(?P<model>.+?)(?:\s+in\s+[A-Z(].*)?$", re.IGNORECASE)
_ARN_MODEL = re.compile(
    r"(?:foundation-model|inference-profile|custom-model|provisioned-model)/(?P<model>[^/\s]+)"
)
_MODEL_KEYS = ("model", "modelname", "model_name", "x_model", "x_modelname", "x_model_name")


def token_direction(*texts: str) -> str:
    """The TokenType a meter or description names, "" when it names none."""
    for value in texts:
        lowered = value.casefold()
        if not lowered:
            continue
        for token_type, pattern in _DIRECTIONS:
            if pattern.search(lowered):
                return token_type
        if "embedding" in lowered:
            return "input"
    return ""


def model_from_row(row: dict[str, str]) -> str:
    details = row.get("SkuPriceDetails", "")
    if details.startswith("{"):
        try:
            parsed = json.loads(details)
        except json.JSONDecodeError:
            parsed = {}
        if isinstance(parsed, dict):
            for key, value in parsed.items():
                if key.casefold() in _MODEL_KEYS and value:
                    return str(value)
    for column, value in row.items():
        if column.casefold() in _MODEL_KEYS and value:
            return value
    for column in ("ResourceId", "ResourceName"):
        match = _ARN_MODEL.search(row.get(column, ""))
        if match:
            return match["model"]
    meter = row.get("SkuMeter", "")
    parts = _METER_SPLIT.split(meter, maxsplit=1)
    if len(parts) == 2 and parts[0].strip():
        return _REGION_PREFIX.sub("", parts[0].strip())
    match = _DESCRIPTION_MODEL.search(row.get("ChargeDescription", ""))
    return match["model"].strip() if match else ""


def usage_of(row: dict[str, str]) -> tuple[str, int | None, str, str]:
    """(unit, multiplier to single tokens or None, token type, model name) that a row's
    descriptive columns say it measured; the row path and the bulk path both decide it here."""
    unit = row.get("ConsumedUnit", "")
    multiplier = token_unit_multiplier(unit) if unit else None
    if multiplier is not None:
        unit = "tokens"
    texts = (row.get("SkuMeter", ""), row.get("ChargeDescription", ""), row.get("SkuPriceDetails", ""))
    is_tokens = multiplier is not None or any("token" in value.casefold() for value in texts)
    token_type = token_direction(*texts) if is_tokens else ""
    if token_type and multiplier is None and unit:
        token_type = ""  # a token meter measured in something else (requests, hours): not tokens
    category = row.get("ServiceCategory", "")
    model_name = model_from_row(row) if is_tokens or category.casefold() == AI_CATEGORY else ""
    return unit, multiplier, token_type, model_name


class FocusImporter(Importer):
    name = "focus"
    label = "FOCUS cost and usage export (CSV, 1.0 to 1.3)"

    @classmethod
    def sniff(cls, head: bytes, filename: str = "") -> bool:
        columns = set(head_columns(head))
        # Lenient on purpose: a FOCUS file missing a mandatory column is still FOCUS, and the parser
        # then says which column is missing rather than "unknown format".
        return len(columns & FOCUS_COLUMNS) >= 4 and bool(
            columns & {"BilledCost", "ChargePeriodStart", "EffectiveCost", "BillingCurrency"}
        )

    def parse(self, stream: BinaryIO) -> Iterator[CanonicalRow | RowError]:
        reader = CsvReader(stream)
        try:
            reader.require(*REQUIRED, any_of=PROVIDER_COLUMNS)
            for item in reader:
                if isinstance(item, RowError):
                    yield item
                    continue
                line, row = item
                raw = dict(zip(reader.header, reader.raw_values, strict=False))
                try:
                    yield self._row(line, row, raw)
                except ColumnError as exc:
                    yield row_error(line, exc)
        finally:
            reader.close()

    def _row(self, line: int, row: dict[str, str], raw: dict[str, str]) -> CanonicalRow:
        costs = {}
        for column in ("BilledCost", "EffectiveCost", "ListCost"):
            try:
                costs[column] = parse_money(row.get(column))
            except ValueError as exc:
                raise ColumnError(column, str(exc)) from None
        billed = costs["BilledCost"]
        if billed is None:
            raise ColumnError("BilledCost", "is empty: FOCUS requires a billed cost on every row")
        effective = costs["EffectiveCost"] if costs["EffectiveCost"] is not None else billed
        listed = costs["ListCost"] if costs["ListCost"] is not None else effective
        try:
            currency = parse_currency(row.get("BillingCurrency"))
        except ValueError as exc:
            raise ColumnError("BillingCurrency", str(exc)) from None
        start, end = parse_period(
            row.get("ChargePeriodStart"), row.get("ChargePeriodEnd"), "ChargePeriodStart", "ChargePeriodEnd"
        )
        try:
            tags = parse_tags(row.get("Tags"))
        except ValueError as exc:
            raise ColumnError("Tags", str(exc)) from None

        try:
            quantity = parse_decimal(row.get("ConsumedQuantity"))
        except ValueError as exc:
            raise ColumnError("ConsumedQuantity", str(exc)) from None
        unit, multiplier, token_type, model_name = usage_of(row)
        if multiplier is not None and quantity is not None:
            quantity *= multiplier
            if abs(quantity) >= MAX_QUANTITY:
                raise ColumnError(
                    "ConsumedQuantity",
                    f"{row['ConsumedQuantity']!r} {row['ConsumedUnit']} is out of range "
                    f"(must be below {MAX_QUANTITY:,.0f} tokens)",
                )

        # The file's other non-empty columns as they stand in it (padding kept): what the bill said,
        # for reconciliation, and what the bulk path can keep without rewriting every value.
        extras = {column: value for column, value in raw.items() if column not in MAPPED and row.get(column)}
        if row.get("HostProviderName") and not row.get("PublisherName"):
            extras["PublisherName"] = raw["HostProviderName"]
        if row.get("ServiceProviderName") and row.get("ProviderName"):
            extras["ProviderName"] = raw["ProviderName"]
        category = row.get("ServiceCategory", "")
        return CanonicalRow(
            line=line,
            source_row_key=content_hash(*(f"{k}={v}" for k, v in sorted(raw.items()) if v)),
            charge_period_start=start,
            charge_period_end=end,
            provider_name=row.get("ServiceProviderName") or row.get("ProviderName", ""),
            service_name=row.get("ServiceName", ""),
            service_category=category,
            model_name=model_name,
            token_type=token_type,
            quantity=quantity if quantity is not None else Decimal(0),
            unit=unit,
            billed_cost=billed,
            effective_cost=effective,
            list_cost=listed,
            currency=currency,
            is_ai=is_ai_category(category),
            billing_account=row.get("BillingAccountId", ""),
            sub_account=row.get("SubAccountId") or row.get("SubAccountName", ""),
            tags=tags,
            raw_extras=extras,
        )
