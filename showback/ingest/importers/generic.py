"""Generic spend CSV: for sources with no export of their own (a SaaS invoice, a spreadsheet, a script).

UTF-8 CSV with a header line; column names are lower case, in any order; unknown columns are kept in
raw_extras. Empty cells and "NULL", "None", "NA", "N/A" count as empty.

Required columns:

- date: the day of the spend, e.g. 2025-04-01 or 04/01/2025 (US order) — or, instead, start and end:
  the period, e.g. 2025-04-01T00:00:00Z and 2025-04-02T00:00:00Z (UTC unless an offset is given; end
  exclusive, not before start). A date covers that whole UTC day.
- provider: who is paid, e.g. OpenAI, Anthropic, AWS, "Acme AI".
- cost: a decimal with a dot, e.g. 12.5, 1,234.50, -3.20 (a credit or refund). An empty cost means
  "usage only": the row is then costed from the model catalog (see tokens below).
- currency: ISO 4217 code, e.g. USD, EUR. Tokens or credits are not currencies.

Optional columns:

- service (e.g. "Chat Completions"), model (e.g. gpt-4o-mini, claude-sonnet-4-20250514).
- input_tokens (all input tokens, cached ones included), output_tokens, cached_tokens (the part of the
  input read from cache), requests: whole numbers.
- account → billing_account; project → sub_account; use_case, team → tags "use_case", "team".
- environment: production, staging or development (prod, stage, dev… accepted) → environment and the
  tag "environment"; another value is kept as the tag only, for the pipeline to resolve.
- tags: a JSON object, e.g. {"cost_center": "CC-12", "feature": "search"}; keys kept as written.

Example:

    date,provider,service,model,cost,currency,input_tokens,output_tokens,use_case,team,environment,tags
    2025-04-01,OpenAI,Chat,gpt-4o-mini,12.40,USD,800000,120000,support-bot,cx,prod,"{""feature"": ""triage""}"
    2025-04-01,Anthropic,Messages,claude-sonnet-4-20250514,,USD,100000,20000,,research,dev,

With a cost, a line is one row: quantity = input + output tokens (unit "tokens"), and raw_extras
input_tokens (uncached: input_tokens - cached_tokens), cached_tokens, output_tokens.
Without a cost, a line becomes one usage row per token direction (input without the cached part,
cached_input, output), each costed from the catalog.
Lines have no id: source_row_key hashes the parsed values, so two identical lines count once.
"""

import datetime
from collections.abc import Iterator
from decimal import Decimal
from typing import BinaryIO

from .base import CanonicalRow, Importer, ImportFileError, RowError
from .common import (
    ColumnError,
    content_hash,
    parse_count,
    parse_currency,
    parse_money,
    parse_period,
    parse_requests,
    parse_tags,
    parse_timestamp,
    row_error,
)
from .readers import CsvReader, head_columns

AI_CATEGORY = "AI and Machine Learning"
_KNOWN = """
    date start end provider service model cost currency input_tokens output_tokens cached_tokens requests
    account project use_case team environment tags
"""
KNOWN = frozenset(_KNOWN.split())
ENVIRONMENTS = {
    "production": "production",
    "prod": "production",
    "prd": "production",
    "live": "production",
    "staging": "staging",
    "stage": "staging",
    "stg": "staging",
    "preprod": "staging",
    "development": "development",
    "dev": "development",
    "test": "development",
}


def _field(row: dict, column: str, parser):
    try:
        return parser(row.get(column))
    except ValueError as exc:
        raise ColumnError(column, str(exc)) from None


class GenericCsvImporter(Importer):
    name = "generic"
    label = "Generic spend CSV (date, provider, cost, currency…)"

    @classmethod
    def sniff(cls, head: bytes, filename: str = "") -> bool:
        columns = {name.lower() for name in head_columns(head)}
        return {"provider", "cost"} <= columns and ("date" in columns or {"start", "end"} <= columns)

    def parse(self, stream: BinaryIO) -> Iterator[CanonicalRow | RowError]:
        reader = CsvReader(stream)
        try:
            reader.header = [name.lower() for name in reader.header]
            reader.require("provider", "cost", "currency")
            if "date" not in reader.header and not {"start", "end"} <= set(reader.header):
                raise ImportFileError("Missing mandatory column: date (or both start and end).")
            for item in reader:
                if isinstance(item, RowError):
                    yield item
                    continue
                line, row = item
                try:
                    yield from self._rows(line, row)
                except ColumnError as exc:
                    yield row_error(line, exc)
        finally:
            reader.close()

    def _rows(self, line: int, row: dict[str, str]) -> list[CanonicalRow]:
        if row.get("start") or row.get("end") or "date" not in row:
            start, end = parse_period(row.get("start"), row.get("end"), "start", "end")
        else:
            day = _field(row, "date", parse_timestamp)
            if day is None:
                raise ColumnError("date", "is empty: the day of the spend is required, e.g. 2025-04-01")
            start = day.replace(hour=0, minute=0, second=0, microsecond=0)
            end = start + datetime.timedelta(days=1)
        provider = row.get("provider", "")
        if not provider:
            raise ColumnError("provider", "is empty: name who is paid, e.g. OpenAI")
        cost = _field(row, "cost", parse_money)
        currency = _field(row, "currency", parse_currency)
        tokens = {
            column: _field(row, column, parse_count)
            for column in ("input_tokens", "output_tokens", "cached_tokens")
        }
        if tokens["cached_tokens"] > tokens["input_tokens"]:
            raise ColumnError(
                "cached_tokens", "is larger than input_tokens, which includes the cached tokens"
            )
        requests = _field(row, "requests", parse_requests)
        tags = _field(row, "tags", parse_tags)
        for column in ("use_case", "team"):
            if row.get(column):
                tags[column] = row[column]
        environment = ENVIRONMENTS.get(row.get("environment", "").lower(), "")
        if row.get("environment"):
            tags["environment"] = environment or row["environment"]
        extras = {column: value for column, value in row.items() if value and column not in KNOWN}
        key = content_hash(
            start.isoformat(),
            end.isoformat(),
            provider,
            row.get("service", ""),
            row.get("model", ""),
            cost,
            currency,
            *tokens.values(),
            requests,
            row.get("account", ""),
            row.get("project", ""),
            environment,
            sorted(tags.items()),
        )
        common = {
            "line": line,
            "charge_period_start": start,
            "charge_period_end": end,
            "provider_name": provider,
            "service_name": row.get("service", ""),
            "service_category": AI_CATEGORY,
            "model_name": row.get("model", ""),
            "currency": currency,
            "billing_account": row.get("account", ""),
            "sub_account": row.get("project", ""),
            "environment": environment,
        }
        if cost is not None:
            if any(tokens.values()):
                extras["input_tokens"] = tokens["input_tokens"] - tokens["cached_tokens"]
                extras["cached_tokens"] = tokens["cached_tokens"]
                extras["output_tokens"] = tokens["output_tokens"]
            return [
                CanonicalRow(
                    source_row_key=key,
                    quantity=Decimal(tokens["input_tokens"] + tokens["output_tokens"]),
                    unit="tokens" if any(tokens.values()) else "",
                    billed_cost=cost,
                    effective_cost=cost,
                    list_cost=cost,
                    requests=requests,
                    raw_extras=extras,
                    tags=tags,
                    **common,
                )
            ]
        if not any(tokens.values()):
            raise ColumnError("cost", "is empty and the line has no tokens to cost it from")
        measures = [
            ("input", tokens["input_tokens"] - tokens["cached_tokens"]),
            ("cached_input", tokens["cached_tokens"]),
            ("output", tokens["output_tokens"]),
        ]
        measures = [measure for measure in measures if measure[1]]
        return [
            CanonicalRow(
                source_row_key=f"{key}:{token_type}",
                token_type=token_type,
                quantity=Decimal(quantity),
                unit="tokens",
                requests=requests if index == 0 else 0,
                raw_extras=dict(extras),
                tags=dict(tags),
                **common,
            )
            for index, (token_type, quantity) in enumerate(measures)
        ]
