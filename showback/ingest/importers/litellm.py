"""LiteLLM proxy exports: request-level spend logs and the daily rollup tables, as CSV or JSON.

LiteLLM's `spend` is USD from its own price book, an estimate: it goes to effective_cost and list_cost
with billed_cost None and is_estimated True, so it can be reconciled with a provider's billed cost.

One CanonicalRow per request (or per daily row), token_type "", quantity = all tokens (unit "tokens"),
and the split in raw_extras, as the pipeline reads it: input_tokens = uncached input (prompt_tokens,
which LiteLLM reports cached tokens included, minus cached_tokens), cached_tokens (cache reads, from
metadata.usage_object or the daily cache_read_input_tokens), output_tokens (completion_tokens), plus
prompt_tokens as reported and cache_creation_tokens when known. A request's cost cannot be split
between directions, so it is not cut into per-direction rows.

Tags, the attribution input:
- every key of metadata.spend_logs_metadata, as given (e.g. {"use_case": "support-bot"});
- each request tag t → "request_tag:<t>" = "true" (a DailyTagSpend row: its tag the same way);
- metadata.user_api_key_alias → "litellm.key_alias", user_api_key_team_alias → "litellm.team_alias";
- team_id → "litellm.team_id", organization_id → "litellm.organization_id",
  end_user (the proxy's customer) → "litellm.end_user", agent_id → "litellm.agent_id".
`user` (or a daily table's user_id) → user_label; the hashed api_key → api_key.

Prompts, responses, the proxy request and the caller's IP address are never read into the row.
"""

import datetime
from collections.abc import Iterator
from decimal import Decimal
from typing import BinaryIO

from .base import CanonicalRow, Importer, ImportFileError, RowError
from .common import (
    ColumnError,
    content_hash,
    is_null,
    parse_count,
    parse_json_field,
    parse_money,
    parse_period,
    parse_requests,
    parse_timestamp,
    row_error,
    short_key,
    tag_value,
    text,
)
from .readers import RecordReader, head_columns, head_text

AI_CATEGORY = "AI and Machine Learning"
SPEND_LOG_EXTRAS = (
    "call_type",
    "model_group",
    "model_id",
    "api_base",
    "cache_hit",
    "status",
    "session_id",
    "request_duration_ms",
    "mcp_namespaced_tool_name",
    "organization_id",
    "team_id",
    "end_user",
)
ENTITY_TAGS = {
    "team_id": "litellm.team_id",
    "organization_id": "litellm.organization_id",
    "end_user": "litellm.end_user",
    "agent_id": "litellm.agent_id",
}
METADATA_TAGS = {"user_api_key_alias": "litellm.key_alias", "user_api_key_team_alias": "litellm.team_alias"}
DAILY_ENTITIES = ("team_id", "tag", "user_id", "organization_id", "end_user", "agent_id")
DAILY_EXTRAS = (
    "model_group",
    "successful_requests",
    "failed_requests",
    "mcp_namespaced_tool_name",
    "endpoint",
)


def _field(record: dict, column: str, parser):
    try:
        return parser(record.get(column))
    except ValueError as exc:
        raise ColumnError(column, str(exc)) from None


def _provider(record: dict) -> str:
    provider = text(record.get("custom_llm_provider"))
    model = text(record.get("model"))
    if not provider and "/" in model:
        provider = model.split("/", 1)[0]
    return provider


def _json_looks_like(head: bytes, *keys: str) -> bool:
    content = head_text(head).lstrip()
    return content.startswith(("[", "{")) and all(f'"{key}"' in content for key in keys)


def _run(reader: RecordReader, build) -> Iterator[CanonicalRow | RowError]:
    for item in reader:
        if isinstance(item, RowError):
            yield item
            continue
        line, record = item
        try:
            yield build(line, record)
        except ColumnError as exc:
            yield row_error(line, exc)


class LiteLLMSpendLogsImporter(Importer):
    name = "litellm"
    label = "LiteLLM proxy spend logs (LiteLLM_SpendLogs, CSV or JSON)"

    @classmethod
    def sniff(cls, head: bytes, filename: str = "") -> bool:
        columns = set(head_columns(head))
        if columns:
            return {"request_id", "startTime", "spend"} <= columns
        return _json_looks_like(head, "request_id", "startTime")

    def parse(self, stream: BinaryIO) -> Iterator[CanonicalRow | RowError]:
        reader = RecordReader(stream)
        try:
            reader.require("request_id", "startTime", "spend")
            yield from _run(reader, self._row)
        finally:
            reader.close()

    def _row(self, line: int, record: dict) -> CanonicalRow:
        request_id = text(record.get("request_id"))
        if not request_id:
            raise ColumnError("request_id", "is empty: every spend log row needs its request id")
        end_value = record.get("endTime")
        start, end = parse_period(
            record.get("startTime"),
            record.get("startTime") if is_null(end_value) else end_value,
            "startTime",
            "endTime",
        )
        spend = _field(record, "spend", parse_money) or Decimal(0)
        input_tokens = _field(record, "prompt_tokens", parse_count)
        output_tokens = _field(record, "completion_tokens", parse_count)
        total_tokens = _field(record, "total_tokens", parse_count) or input_tokens + output_tokens
        metadata = _field(record, "metadata", lambda value: parse_json_field(value, dict))
        request_tags = _field(record, "request_tags", lambda value: parse_json_field(value, list))

        tags = {}
        caller_keys = metadata.get("spend_logs_metadata")
        if isinstance(caller_keys, dict):
            tags.update({str(key): tag_value(value) for key, value in caller_keys.items()})
        for tag in request_tags:
            tags[f"request_tag:{tag_value(tag)}"] = "true"
        for key, tag_key in METADATA_TAGS.items():
            if not is_null(metadata.get(key)):
                tags[tag_key] = tag_value(metadata[key])
        for column, tag_key in ENTITY_TAGS.items():
            if text(record.get(column)):
                tags[tag_key] = text(record.get(column))

        usage = metadata.get("usage_object") if isinstance(metadata.get("usage_object"), dict) else {}
        details = (
            usage.get("prompt_tokens_details") if isinstance(usage.get("prompt_tokens_details"), dict) else {}
        )
        cached = min(
            _usage_count(details.get("cached_tokens") or usage.get("cache_read_input_tokens")), input_tokens
        )
        extras = {
            "input_tokens": input_tokens - cached,
            "cached_tokens": cached,
            "output_tokens": output_tokens,
            "prompt_tokens": input_tokens,
            "cache_creation_tokens": _usage_count(usage.get("cache_creation_input_tokens")),
            "total_tokens": total_tokens,
            "request_id": request_id,
        }
        extras.update(
            {column: text(record[column]) for column in SPEND_LOG_EXTRAS if text(record.get(column))}
        )
        model = text(record.get("model")) or text(record.get("model_group"))
        return CanonicalRow(
            line=line,
            source_row_key=short_key(request_id),
            charge_period_start=start,
            charge_period_end=end,
            provider_name=_provider(record),
            service_name="LiteLLM proxy",
            service_category=AI_CATEGORY,
            model_name=model,
            quantity=Decimal(total_tokens),
            unit="tokens",
            billed_cost=None,
            effective_cost=spend,
            list_cost=spend,
            currency="USD",
            is_estimated=True,
            api_key=text(record.get("api_key")),
            user_label=text(record.get("user")),
            requests=1,
            tags=tags,
            raw_extras=extras,
        )


def _usage_count(value) -> int:
    try:
        return parse_count(value)
    except ValueError:
        return 0


class LiteLLMDailySpendImporter(Importer):
    name = "litellm_daily"
    label = "LiteLLM daily spend (LiteLLM_DailyTeamSpend / TagSpend / UserSpend…, CSV or JSON)"

    @classmethod
    def sniff(cls, head: bytes, filename: str = "") -> bool:
        columns = set(head_columns(head))
        if columns:
            return {"date", "spend", "api_requests"} <= columns and bool(columns & set(DAILY_ENTITIES))
        return _json_looks_like(head, "date", "api_requests", "spend")

    def parse(self, stream: BinaryIO) -> Iterator[CanonicalRow | RowError]:
        reader = RecordReader(stream)
        try:
            reader.require("date", "spend")
            entity = next((column for column in DAILY_ENTITIES if column in reader.columns), None)
            if entity is None:
                raise ImportFileError(f"Missing mandatory column: one of {', '.join(DAILY_ENTITIES)}.")
            yield from _run(reader, lambda line, record: self._row(line, record, entity))
        finally:
            reader.close()

    def _row(self, line: int, record: dict, entity: str) -> CanonicalRow:
        day = _field(record, "date", parse_timestamp)
        if day is None:
            raise ColumnError("date", "is empty: a date (YYYY-MM-DD) is required")
        start = day.replace(hour=0, minute=0, second=0, microsecond=0)
        spend = _field(record, "spend", parse_money) or Decimal(0)
        counts = {
            column: _field(record, column, parse_count)
            for column in (
                "prompt_tokens",
                "completion_tokens",
                "cache_read_input_tokens",
                "cache_creation_input_tokens",
            )
        }
        counts["api_requests"] = _field(record, "api_requests", parse_requests)
        value = text(record.get(entity))
        tags = {}
        if entity == "tag" and value:
            tags[f"request_tag:{value}"] = "true"
        elif entity in ENTITY_TAGS and value:
            tags[ENTITY_TAGS[entity]] = value
        natural_key = [
            text(record.get(column))
            for column in (
                entity,
                "api_key",
                "model",
                "custom_llm_provider",
                "mcp_namespaced_tool_name",
                "endpoint",
            )
        ]
        cached = min(counts["cache_read_input_tokens"], counts["prompt_tokens"])
        extras = {
            "input_tokens": counts["prompt_tokens"] - cached,
            "cached_tokens": cached,
            "output_tokens": counts["completion_tokens"],
            "prompt_tokens": counts["prompt_tokens"],
            "cache_creation_tokens": counts["cache_creation_input_tokens"],
            "daily_table": entity,
            entity: value,
        }
        extras.update({column: text(record[column]) for column in DAILY_EXTRAS if text(record.get(column))})
        return CanonicalRow(
            line=line,
            source_row_key=short_key(entity, start.date().isoformat(), content_hash(*natural_key)),
            charge_period_start=start,
            charge_period_end=start + datetime.timedelta(days=1),
            provider_name=_provider(record),
            service_name="LiteLLM proxy",
            service_category=AI_CATEGORY,
            model_name=text(record.get("model")) or text(record.get("model_group")),
            quantity=Decimal(counts["prompt_tokens"] + counts["completion_tokens"]),
            unit="tokens",
            billed_cost=None,
            effective_cost=spend,
            list_cost=spend,
            currency="USD",
            is_estimated=True,
            api_key=text(record.get("api_key")),
            user_label=value if entity == "user_id" else "",
            requests=counts["api_requests"],
            tags=tags,
            raw_extras=extras,
        )
