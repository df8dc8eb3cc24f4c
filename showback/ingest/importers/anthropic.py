"""Anthropic Admin API usage and cost reports (JSON pages).

A page is {data: [bucket], has_more, next_page}; a bucket has RFC 3339 starting_at / ending_at and
results. A file may also hold a list of pages.

Usage (`anthropic_usage`): usage only, cost None (costed from the catalog). One result becomes up to
five rows, skipping zero quantities: input (uncached_input_tokens), cached_input
(cache_read_input_tokens), cache_write for each cache TTL (cache_creation.ephemeral_5m_input_tokens,
cache_creation.ephemeral_1h_input_tokens; raw_extras cache_ttl "5m" / "1h", as they are priced
differently) and output. Total input = uncached + cache read + cache creation (raw_extras
total_input_tokens on the first row, with server_tool_use.web_search_requests). workspace_id →
sub_account (null is the default workspace), api_key_id → api_key; service_tier and context_window →
raw_extras. The report has no request count: requests stays 0.

Costs (`anthropic_costs`): amount is a decimal string in cents, divided by 100 → billed, effective and
list cost, in currency. token_type ("uncached_input_tokens", "cache_creation.ephemeral_1h_input_tokens"…)
→ token_type; model, workspace_id → sub_account; cost_type and description → raw_extras.

source_row_key: bucket start and end, the token type (and cache TTL), and a hash of the grouping keys.
"""

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import BinaryIO

from .base import CanonicalRow, Importer, RowError
from .common import (
    MAX_MONEY,
    ColumnError,
    content_hash,
    parse_count,
    parse_currency,
    parse_decimal,
    row_error,
    short_key,
    text,
)
from .readers import bucket_results, head_text

PROVIDER = "Anthropic"
SERVICE = "Claude API"
AI_CATEGORY = "AI and Machine Learning"
GROUPING = ("api_key_id", "workspace_id", "model", "service_tier", "context_window")
COST_TOKEN_TYPES = {
    "uncached_input_tokens": ("input", ""),
    "output_tokens": ("output", ""),
    "cache_read_input_tokens": ("cached_input", ""),
    "cache_creation.ephemeral_5m_input_tokens": ("cache_write", "5m"),
    "cache_creation.ephemeral_1h_input_tokens": ("cache_write", "1h"),
}


def _looks_like(head: bytes, *keys: str) -> bool:
    """A JSON report with RFC 3339 bucket bounds and one of `keys` used as a key (not as a value)."""
    content = head_text(head).lstrip()
    return (
        content.startswith(("{", "["))
        and re.search(r'"starting_at"\s*:', content) is not None
        and any(re.search(f'"{key}"\\s*:', content) for key in keys)
    )


def _count(result: dict, path: str) -> int:
    value = result
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    try:
        return parse_count(value)
    except ValueError as exc:
        raise ColumnError(path, str(exc)) from None


def _run(stream: BinaryIO, build) -> Iterator[CanonicalRow | RowError]:
    for item in bucket_results(stream, "starting_at", "ending_at"):
        if isinstance(item, RowError):
            yield item
            continue
        record, start, end, result = item
        try:
            yield from build(record, start, end, result)
        except ColumnError as exc:
            yield row_error(record, exc)


class AnthropicUsageImporter(Importer):
    name = "anthropic_usage"
    label = "Anthropic usage report (Admin API, JSON pages)"

    @classmethod
    def sniff(cls, head: bytes, filename: str = "") -> bool:
        return _looks_like(head, "uncached_input_tokens", "cache_read_input_tokens", "cache_creation")

    def parse(self, stream: BinaryIO) -> Iterator[CanonicalRow | RowError]:
        yield from _run(stream, self._rows)

    def _rows(self, record, start, end, result) -> list[CanonicalRow]:
        group = {key: text(result.get(key)) for key in GROUPING}
        measures = [
            ("input", "", _count(result, "uncached_input_tokens")),
            ("cached_input", "", _count(result, "cache_read_input_tokens")),
            ("cache_write", "5m", _count(result, "cache_creation.ephemeral_5m_input_tokens")),
            ("cache_write", "1h", _count(result, "cache_creation.ephemeral_1h_input_tokens")),
            ("output", "", _count(result, "output_tokens")),
        ]
        total_input = sum(measure[2] for measure in measures if measure[0] != "output")
        first_extras = {
            "total_input_tokens": total_input,
            "web_search_requests": _count(result, "server_tool_use.web_search_requests"),
        }
        measures = [measure for measure in measures if measure[2]] or measures[:1]
        group_hash = content_hash(*group.values())
        rows = []
        for index, (token_type, ttl, quantity) in enumerate(measures):
            extras = {key: group[key] for key in ("service_tier", "context_window") if group[key]}
            if ttl:
                extras["cache_ttl"] = ttl
            if index == 0:
                extras.update(first_extras)
            rows.append(
                CanonicalRow(
                    line=record,
                    source_row_key=short_key(
                        int(start.timestamp()), int(end.timestamp()), token_type + ttl, group_hash
                    ),
                    charge_period_start=start,
                    charge_period_end=end,
                    provider_name=PROVIDER,
                    service_name=SERVICE,
                    service_category=AI_CATEGORY,
                    model_name=group["model"],
                    token_type=token_type,
                    quantity=Decimal(quantity),
                    unit="tokens",
                    currency="USD",
                    sub_account=group["workspace_id"],
                    api_key=group["api_key_id"],
                    raw_extras=extras,
                )
            )
        return rows


class AnthropicCostImporter(Importer):
    name = "anthropic_costs"
    label = "Anthropic cost report (Admin API, JSON pages)"

    @classmethod
    def sniff(cls, head: bytes, filename: str = "") -> bool:
        return _looks_like(head, "cost_type", "amount")

    def parse(self, stream: BinaryIO) -> Iterator[CanonicalRow | RowError]:
        yield from _run(stream, lambda *args: [self._row(*args)])

    def _row(self, record, start, end, result) -> CanonicalRow:
        try:
            cents = parse_decimal(result.get("amount"), maximum=MAX_MONEY * 100)
        except ValueError as exc:
            raise ColumnError("amount", f'{exc} (a decimal string in cents, e.g. "123.45")') from None
        if cents is None:
            raise ColumnError("amount", "is empty: a decimal string in cents is required")
        try:
            currency = parse_currency(result.get("currency"))
        except ValueError as exc:
            raise ColumnError("currency", str(exc)) from None
        amount = cents / 100
        source_token_type = text(result.get("token_type"))
        token_type, ttl = COST_TOKEN_TYPES.get(source_token_type, ("", ""))
        keys = {
            key: text(result.get(key))
            for key in ("workspace_id", "model", "cost_type", "description", "service_tier", "context_window")
        }
        extras = {
            key: keys[key]
            for key in ("cost_type", "description", "service_tier", "context_window")
            if keys[key]
        }
        if source_token_type:
            extras["token_type"] = source_token_type
        if ttl:
            extras["cache_ttl"] = ttl
        return CanonicalRow(
            line=record,
            source_row_key=short_key(
                int(start.timestamp()),
                int(end.timestamp()),
                source_token_type or keys["cost_type"],
                content_hash(*keys.values(), source_token_type, currency),
            ),
            charge_period_start=start,
            charge_period_end=end,
            provider_name=PROVIDER,
            service_name=SERVICE,
            service_category=AI_CATEGORY,
            model_name=keys["model"],
            token_type=token_type,
            billed_cost=amount,
            effective_cost=amount,
            list_cost=amount,
            currency=currency,
            sub_account=keys["workspace_id"],
            raw_extras=extras,
        )
