"""OpenAI organization Usage and Costs API pages (JSON).

A page is {object: "page", data: [bucket], has_more, next_page}; a bucket has start_time / end_time
(Unix seconds) and results. A file may also hold a list of pages.

Usage (`openai_usage`): usage only, cost None (the pipeline costs it from the catalog). input_tokens
already includes input_cached_tokens (and input_cache_write_tokens when reported), so one result
becomes up to four rows: input (uncached = input - cached - cache write), cached_input, cache_write
and output, skipping zero quantities. num_model_requests goes on the first row only, so sums stay
right. project_id → sub_account, api_key_id → api_key, user_id → user_label; batch, service_tier and
the per-modality counts → raw_extras. Images, audio, vector store and code interpreter results have no
tokens: one row with their own unit (images, characters, seconds, bytes, sessions).

Costs (`openai_costs`): amount.value in amount.currency (dollars, not cents) → billed, effective and
list cost. line_item "gpt-4o-2024-08-06, input" gives the model and the token direction;
project_id → sub_account, api_key_id → api_key.

source_row_key: bucket start and end, the result kind, the token type or line item, and a hash of the
grouping keys.
"""

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import BinaryIO

from .base import CanonicalRow, Importer, RowError
from .common import (
    ColumnError,
    content_hash,
    parse_count,
    parse_currency,
    parse_decimal,
    parse_money,
    parse_requests,
    row_error,
    short_key,
    tag_value,
    text,
    token_unit_multiplier,
)
from .focus import token_direction
from .readers import bucket_results, head_text

PROVIDER = "OpenAI"
SERVICE = "OpenAI API"
AI_CATEGORY = "AI and Machine Learning"
GROUPING = ("project_id", "user_id", "api_key_id", "model", "batch", "service_tier")
TOKEN_FIELDS = ("input_tokens", "output_tokens", "input_cached_tokens", "input_cache_write_tokens")
OTHER_UNITS = (
    ("num_images", "images"),
    ("images", "images"),
    ("characters", "characters"),
    ("seconds", "seconds"),
    ("usage_bytes", "bytes"),
    ("num_sessions", "sessions"),
    ("sessions", "sessions"),
)
_LINE_ITEM = re.compile(r"(?P<model>[^,|]+?),\s*(?P<direction>.+)")


def _count(result: dict, key: str, parser=parse_count) -> int:
    try:
        return parser(result.get(key))
    except ValueError as exc:
        raise ColumnError(key, str(exc)) from None


def _usage_type(result: dict) -> str:
    kind = text(result.get("object"))
    return kind.removeprefix("organization.usage.").removesuffix(".result") or "usage"


def _looks_like(head: bytes, *needles: str) -> bool:
    content = head_text(head).lstrip()
    return content.startswith(("{", "[")) and all(needle in content for needle in needles)


class OpenAIUsageImporter(Importer):
    name = "openai_usage"
    label = "OpenAI organization usage (JSON pages)"

    @classmethod
    def sniff(cls, head: bytes, filename: str = "") -> bool:
        return _looks_like(head, "organization.usage.") or _looks_like(
            head, '"start_time"', '"num_model_requests"'
        )

    def parse(self, stream: BinaryIO) -> Iterator[CanonicalRow | RowError]:
        for item in bucket_results(stream, "start_time", "end_time"):
            if isinstance(item, RowError):
                yield item
                continue
            record, start, end, result = item
            try:
                yield from self._rows(record, start, end, result)
            except ColumnError as exc:
                yield row_error(record, exc)

    def _rows(self, record, start, end, result) -> list[CanonicalRow]:
        usage_type = _usage_type(result)
        group = {key: text(result.get(key)) for key in GROUPING}
        counts = {key: _count(result, key) for key in TOKEN_FIELDS}
        uncached = counts["input_tokens"] - counts["input_cached_tokens"] - counts["input_cache_write_tokens"]
        if uncached < 0:
            raise ColumnError(
                "input_cached_tokens",
                f"cached ({counts['input_cached_tokens']}) plus cache-write "
                f"({counts['input_cache_write_tokens']}) tokens exceed input_tokens "
                f"({counts['input_tokens']}), which includes them",
            )
        if any(key in result for key in TOKEN_FIELDS):
            measures = [
                ("input", uncached, "tokens"),
                ("cached_input", counts["input_cached_tokens"], "tokens"),
                ("cache_write", counts["input_cache_write_tokens"], "tokens"),
                ("output", counts["output_tokens"], "tokens"),
            ]
        else:
            key, unit = next(((key, unit) for key, unit in OTHER_UNITS if key in result), ("", ""))
            measures = [("", _count(result, key) if key else 0, unit)]
        measures = [measure for measure in measures if measure[1]] or measures[:1]

        breakdown = {
            key: value
            for key, value in result.items()
            if key not in GROUPING and key != "object" and isinstance(value, int | Decimal)
        }
        group_hash = content_hash(*group.values())
        batch = result.get("batch")
        if not (batch is None or isinstance(batch, bool)):
            batch = tag_value(batch)  # as text: raw_extras is stored as JSON, which has no Decimal
        rows = []
        for index, (token_type, quantity, unit) in enumerate(measures):
            extras = {
                "usage_type": usage_type,
                "batch": batch,
                "service_tier": group["service_tier"],
            }
            if index == 0:
                extras.update(
                    {key: value if isinstance(value, int) else str(value) for key, value in breakdown.items()}
                )
            rows.append(
                CanonicalRow(
                    line=record,
                    source_row_key=short_key(
                        int(start.timestamp()),
                        int(end.timestamp()),
                        usage_type,
                        token_type or unit,
                        group_hash,
                    ),
                    charge_period_start=start,
                    charge_period_end=end,
                    provider_name=PROVIDER,
                    service_name=SERVICE,
                    service_category=AI_CATEGORY,
                    model_name=group["model"],
                    token_type=token_type,
                    quantity=Decimal(quantity),
                    unit=unit,
                    currency="USD",
                    sub_account=group["project_id"],
                    api_key=group["api_key_id"],
                    user_label=group["user_id"],
                    requests=_count(result, "num_model_requests", parse_requests) if index == 0 else 0,
                    raw_extras=extras,
                )
            )
        return rows


class OpenAICostsImporter(Importer):
    name = "openai_costs"
    label = "OpenAI organization costs (JSON pages)"

    @classmethod
    def sniff(cls, head: bytes, filename: str = "") -> bool:
        return _looks_like(head, "organization.costs.") or _looks_like(
            head, '"start_time"', '"amount"', '"line_item"'
        )

    def parse(self, stream: BinaryIO) -> Iterator[CanonicalRow | RowError]:
        for item in bucket_results(stream, "start_time", "end_time"):
            if isinstance(item, RowError):
                yield item
                continue
            record, start, end, result = item
            try:
                yield self._row(record, start, end, result)
            except ColumnError as exc:
                yield row_error(record, exc)

    def _row(self, record, start, end, result) -> CanonicalRow:
        amount = result.get("amount")
        if not isinstance(amount, dict):
            raise ColumnError("amount", 'is missing: expected {"value": 0.06, "currency": "usd"}')
        try:
            value = parse_money(amount.get("value"))
        except ValueError as exc:
            raise ColumnError("amount.value", str(exc)) from None
        if value is None:
            raise ColumnError("amount.value", "is empty")
        try:
            currency = parse_currency(amount.get("currency"))
        except ValueError as exc:
            raise ColumnError("amount.currency", str(exc)) from None
        line_item = text(result.get("line_item"))
        match = _LINE_ITEM.fullmatch(line_item)
        model, token_type = "", ""
        if match:
            token_type = token_direction(match["direction"])
            model = match["model"].strip() if token_type else ""
        unit = text(result.get("quantity_unit"))
        try:
            quantity = parse_decimal(result.get("quantity"))
        except ValueError as exc:
            raise ColumnError("quantity", str(exc)) from None
        multiplier = token_unit_multiplier(unit) if unit else None
        if multiplier is not None:
            unit = "tokens"
            quantity = quantity * multiplier if quantity is not None else None
        project, api_key = text(result.get("project_id")), text(result.get("api_key_id"))
        return CanonicalRow(
            line=record,
            source_row_key=short_key(
                int(start.timestamp()),
                int(end.timestamp()),
                content_hash(project, api_key, line_item, currency),
            ),
            charge_period_start=start,
            charge_period_end=end,
            provider_name=PROVIDER,
            service_name=SERVICE,
            service_category=AI_CATEGORY,
            model_name=model,
            token_type=token_type if multiplier is not None or not unit else "",
            quantity=quantity if quantity is not None else Decimal(0),
            unit=unit,
            billed_cost=value,
            effective_cost=value,
            list_cost=value,
            currency=currency,
            sub_account=project,
            api_key=api_key,
            raw_extras={"line_item": line_item} if line_item else {},
        )
