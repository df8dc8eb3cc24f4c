"""The format importers: pure parsing, no database. Given a file, when parsed, then rows or errors."""

import csv
import datetime
import gzip
import io
import json
import tracemalloc
from decimal import Decimal
from pathlib import Path

import pytest

from showback.ingest.importers import generic
from showback.ingest.importers.anthropic import AnthropicCostImporter, AnthropicUsageImporter
from showback.ingest.importers.base import CanonicalRow, ImportFileError, RowError
from showback.ingest.importers.common import (
    content_hash,
    open_maybe_gzip,
    parse_currency,
    parse_decimal,
    parse_tags,
    parse_timestamp,
    token_unit_multiplier,
)
from showback.ingest.importers.focus import FocusImporter
from showback.ingest.importers.generic import GenericCsvImporter
from showback.ingest.importers.litellm import LiteLLMDailySpendImporter, LiteLLMSpendLogsImporter
from showback.ingest.importers.openai import OpenAICostsImporter, OpenAIUsageImporter
from showback.ingest.importers.registry import IMPORTERS, detect, label_choices

HERE = Path(__file__).parent / "data"
# Public samples copied into the repository (data/README.md says from where, under which licence).
SHARED = HERE
FOCUS_SAMPLES = sorted(
    p for p in (SHARED / "focus").glob("*.csv") if p.name != "focus_columns_by_version.csv"
)
OPENAI_SAMPLES = sorted((SHARED / "openai").glob("*.json"))
UTC = datetime.UTC

FOCUS_HEADER = [
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "BillingCurrency",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
    "ProviderName",
    "ServiceName",
    "ServiceCategory",
    "ConsumedQuantity",
    "ConsumedUnit",
    "SkuMeter",
    "SubAccountId",
    "Tags",
]
GOOD_ROW = {
    "BilledCost": "1.50",
    "EffectiveCost": "1.40",
    "ListCost": "1.60",
    "BillingCurrency": "USD",
    "ChargePeriodStart": "2025-03-01T00:00:00Z",
    "ChargePeriodEnd": "2025-03-02T00:00:00Z",
    "ChargeCategory": "Usage",
    "ProviderName": "AWS",
    "ServiceName": "Amazon Bedrock",
    "ServiceCategory": "AI and Machine Learning",
    "ConsumedQuantity": "2",
    "ConsumedUnit": "1M Tokens",
    "SkuMeter": "USE1-Claude3.5Sonnet-input-tokens",
    "SubAccountId": "210987654321",
    "Tags": '{"use_case": "support-bot"}',
}


def focus_bytes(*rows: dict, header=FOCUS_HEADER, bom=False) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\r\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode()


def parse(importer, data: bytes) -> list:
    return list(importer.parse(io.BytesIO(data)))


def rows_of(results) -> list[CanonicalRow]:
    errors = [r for r in results if isinstance(r, RowError)]
    assert errors == []
    return results


def only_error(results) -> RowError:
    assert len(results) == 1 and isinstance(results[0], RowError), results
    return results[0]


def money(text: str) -> Decimal:
    """An independent reading of the samples' money cells ("48", "$10,000.00 ")."""
    return Decimal(text.strip().replace("$", "").replace(",", "") or "0")


# Public samples (data/focus, data/openai)


@pytest.mark.parametrize("path", FOCUS_SAMPLES, ids=lambda p: p.name)
def test_focus_sample_parses_whole_and_totals_match_an_independent_sum(path):
    with path.open(newline="", encoding="utf-8-sig") as handle:
        expected_rows = list(csv.DictReader(handle))
    expected_billed = sum(money(row["BilledCost"]) for row in expected_rows)
    expected_effective = sum(money(row["EffectiveCost"]) for row in expected_rows)

    with path.open("rb") as handle:
        results = rows_of(list(FocusImporter().parse(handle)))

    assert len(results) == len(expected_rows)
    assert sum(r.billed_cost for r in results) == expected_billed
    assert sum(r.effective_cost for r in results) == expected_effective
    assert {r.currency for r in results} == {"USD"}
    assert all(
        r.charge_period_start.tzinfo is UTC and r.charge_period_end >= r.charge_period_start for r in results
    )
    assert len({r.source_row_key for r in results}) == len(results)
    assert not any(r.is_ai for r in results)  # SaaS examples: no ServiceCategory AI


def test_virtual_currency_rows_keep_pricing_currency_in_extras_and_bill_in_usd():
    path = SHARED / "focus" / "virtual_currency_pricing_model_a2.csv"
    results = rows_of(parse(FocusImporter(), path.read_bytes()))

    assert [r.currency for r in results] == ["USD"] * 3
    assert results[0].raw_extras["PricingCurrency"] == "Token"
    assert results[0].raw_extras["PricingCurrencyEffectiveCost"] == "245"
    assert results[0].quantity == 245 and results[0].unit == "Execution" and results[0].token_type == ""
    assert results[0].raw_extras["ChargeCategory"] == "Usage"
    assert results[0].charge_period_start == datetime.datetime(2025, 4, 1, tzinfo=UTC)


@pytest.mark.parametrize("path", [*FOCUS_SAMPLES, *OPENAI_SAMPLES], ids=lambda p: p.name)
def test_detection_picks_the_right_importer_for_every_shared_sample(path):
    expected = {
        "openapi_example_costs.json": "openai_costs",
        "openapi_example_usage_completions.json": "openai_usage",
        "openapi_example_usage_embeddings.json": "openai_usage",
    }.get(path.name, "focus")
    assert detect(path.read_bytes()[:65536], path.name) == expected


def test_focus_column_reference_is_not_taken_for_a_spend_file():
    assert detect((SHARED / "focus" / "focus_columns_by_version.csv").read_bytes(), "x.csv") is None


def test_openai_usage_sample_splits_cached_and_cache_write_out_of_input():
    data = (SHARED / "openai" / "openapi_example_usage_completions.json").read_bytes()
    results = rows_of(parse(OpenAIUsageImporter(), data))

    by_type = {r.token_type: r.quantity for r in results}
    assert by_type == {"input": 500, "cached_input": 400, "cache_write": 100, "output": 500}
    assert by_type["input"] + by_type["cached_input"] + by_type["cache_write"] == 1000  # input_tokens
    assert sum(r.requests for r in results) == 5
    assert all(r.billed_cost is None and r.effective_cost is None for r in results)
    assert results[0].charge_period_start == datetime.datetime(2024, 11, 1, tzinfo=UTC)
    assert results[0].charge_period_end == datetime.datetime(2024, 11, 2, tzinfo=UTC)
    assert len({r.source_row_key for r in results}) == 4


def test_openai_embeddings_and_costs_samples():
    embeddings = rows_of(
        parse(OpenAIUsageImporter(), (SHARED / "openai/openapi_example_usage_embeddings.json").read_bytes())
    )
    costs = rows_of(parse(OpenAICostsImporter(), (SHARED / "openai/openapi_example_costs.json").read_bytes()))

    assert [(r.token_type, r.quantity, r.requests) for r in embeddings] == [("input", 16, 2)]
    assert [(r.billed_cost, r.currency) for r in costs] == [(Decimal("0.06"), "USD")]


# Generated and hand-written files


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("focus_1_2_bedrock.csv", "focus"),
        ("focus_1_3_azure_openai.csv", "focus"),
        ("litellm_spend_logs.csv", "litellm"),
        ("litellm_spend_logs.json", "litellm"),
        ("litellm_daily_team_spend.csv", "litellm_daily"),
        ("litellm_daily_tag_spend.csv", "litellm_daily"),
        ("anthropic_usage_report.json", "anthropic_usage"),
        ("anthropic_cost_report.json", "anthropic_costs"),
        ("generic_spend.csv", "generic"),
    ],
)
def test_detection_and_clean_parse_of_each_test_file(filename, expected):
    data = (HERE / filename).read_bytes()

    assert detect(data[:65536], filename) == expected
    assert detect(gzip.compress(data)[:65536], filename + ".gz") == expected
    results = rows_of(parse(IMPORTERS[expected](), data))
    assert results
    assert all(len(r.source_row_key) <= 200 for r in results)
    assert len({r.source_row_key for r in results}) == len(results)
    json.dumps([r.raw_extras for r in results] + [r.tags for r in results])  # storable as JSON


def test_detection_of_unknown_content_is_none():
    assert detect(b"", "x.csv") is None
    assert detect(b"\x00\x01\x02\xff\xfe binary", "x.bin") is None
    assert detect(b"name,email\nalice,a@example.com\n", "people.csv") is None
    assert detect(b'{"hello": "world"}', "x.json") is None


def test_generated_focus_file_is_detected_and_label_choices_list_every_importer():
    assert detect(focus_bytes(GOOD_ROW), "export.csv") == "focus"
    assert [name for name, _ in label_choices()] == list(IMPORTERS)
    names = list(IMPORTERS)
    assert (names[0], names[-1]) == ("focus", "generic")


def test_focus_1_2_bedrock_token_lines():
    results = rows_of(parse(FocusImporter(), (HERE / "focus_1_2_bedrock.csv").read_bytes()))

    tokens = [(r.token_type, r.quantity, r.unit) for r in results[:4]]
    assert tokens == [
        ("input", 250_000, "tokens"),
        ("output", 60_000, "tokens"),
        ("cached_input", 100_000, "tokens"),
        ("cache_write", 100_000, "tokens"),
    ]
    assert results[0].model_name == "anthropic.claude-3-5-sonnet-20240620-v1:0"
    assert results[2].model_name == "Claude3.5Sonnet"
    assert results[4].billed_cost == Decimal("-5.00") and results[4].raw_extras["ChargeCategory"] == "Credit"
    assert results[5].is_ai is False and results[5].token_type == ""
    assert results[0].sub_account == "210987654321" and results[0].billing_account == "123456789012"
    assert results[0].raw_extras["x_UsageType"] == "USE1-Claude3.5Sonnet-input-tokens"
    assert "ChargeClass" not in results[1].raw_extras  # the text "NULL" is empty


def test_focus_1_3_maps_service_provider_and_host_provider_and_1m_token_units():
    results = rows_of(parse(FocusImporter(), (HERE / "focus_1_3_azure_openai.csv").read_bytes()))

    assert [r.provider_name for r in results] == ["Microsoft"] * 3
    assert results[0].raw_extras["PublisherName"] == "Microsoft"
    assert [(r.token_type, r.quantity) for r in results] == [
        ("input", 500_000),
        ("output", 100_000),
        ("cached_input", 200_000),
    ]
    assert results[0].model_name == "gpt-4o-2024-05-13"  # from SkuPriceDetails
    assert results[1].model_name == "gpt-4o-0513"  # from the meter
    assert results[0].currency == "EUR" and results[0].is_ai
    assert results[0].tags == {"use_case": "contract-review", "Environment": "prod"}


def test_focus_row_key_is_stable_across_column_order_and_added_empty_columns():
    first = rows_of(parse(FocusImporter(), focus_bytes(GOOD_ROW)))[0]
    reordered = [*reversed(FOCUS_HEADER), "x_Empty"]
    second = rows_of(parse(FocusImporter(), focus_bytes(GOOD_ROW, header=reordered)))[0]
    changed = rows_of(parse(FocusImporter(), focus_bytes({**GOOD_ROW, "BilledCost": "1.51"})))[0]

    assert first.source_row_key == second.source_row_key
    assert first.source_row_key != changed.source_row_key


def test_bom_null_texts_and_stray_spaces_in_tag_keys():
    row = {**GOOD_ROW, "SubAccountId": "NULL", "ConsumedUnit": "None", "ConsumedQuantity": "N/A"}
    row["Tags"] = '{" team ": "cx", "Use_Case": "bot", "n": 3, "flag": true, "none": null}'
    results = rows_of(parse(FocusImporter(), focus_bytes(row, bom=True)))

    assert results[0].billed_cost == Decimal("1.50")
    assert results[0].sub_account == "" and results[0].quantity == 0 and results[0].unit == ""
    assert results[0].tags == {" team ": "cx", "Use_Case": "bot", "n": "3", "flag": "true", "none": ""}


def test_gzip_stream_is_read_the_same():
    data = focus_bytes(GOOD_ROW, GOOD_ROW | {"BilledCost": "2"})
    plain = rows_of(parse(FocusImporter(), data))
    zipped = rows_of(parse(FocusImporter(), gzip.compress(data)))

    assert [r.source_row_key for r in plain] == [r.source_row_key for r in zipped]
    assert open_maybe_gzip(io.BytesIO(gzip.compress(b"abc"))).read() == b"abc"
    assert open_maybe_gzip(io.BytesIO(b"abc")).read() == b"abc"


def test_a_gzip_of_several_members_and_zero_padding_is_read_whole_in_any_read_size():
    first, second = b"date,cost\n" + b"2025-01-01,1\n" * 50_000, b"2025-01-02,2\n" * 50_000
    packed = gzip.compress(first) + b"\0" * 3 + gzip.compress(second) + gzip.compress(b"") + b"\0" * 1000

    for size in (7, 8192, 1024 * 1024):
        stream, chunks = open_maybe_gzip(io.BytesIO(packed)), []
        while chunk := stream.read(size):
            chunks.append(chunk)
        assert b"".join(chunks) == first + second


@pytest.mark.parametrize(
    "damage, detail",
    [
        (lambda packed: packed[: len(packed) // 2], "Compressed file ended before the end-of-stream"),
        (lambda packed: packed[:-8] + b"\0\0\0\0" + packed[-4:], "incorrect data check"),
        (lambda packed: packed + b"PK", "Not a gzipped file (b'PK')"),
    ],
    ids=["cut short", "wrong checksum", "not gzip after the member"],
)
def test_a_damaged_gzip_is_refused_saying_so(damage, detail):
    packed = damage(gzip.compress(b"2025-01-01,1\n" * 50_000))

    with pytest.raises(ImportFileError, match="gzip file is damaged or cut short") as refused:
        open_maybe_gzip(io.BytesIO(packed)).read()
    assert detail in str(refused.value)


class _Unseekable(io.RawIOBase):
    """A stream with neither seek nor peek, like an upload read through a counting wrapper."""

    def __init__(self, data: bytes):
        self._data = io.BytesIO(data)

    def readable(self):
        return True

    def readinto(self, buffer):
        chunk = self._data.read(min(len(buffer), 7))
        buffer[: len(chunk)] = chunk
        return len(chunk)


@pytest.mark.parametrize("compress", [False, True])
def test_unseekable_streams_are_read_and_the_callers_stream_stays_open(compress):
    data = focus_bytes(GOOD_ROW, GOOD_ROW | {"BilledCost": "2"})
    data = gzip.compress(data) if compress else data
    raw = _Unseekable(data)
    results = rows_of(list(FocusImporter().parse(raw)))
    buffered = io.BytesIO(data)
    list(FocusImporter().parse(buffered))

    assert [r.billed_cost for r in results] == [Decimal("1.50"), Decimal("2")]
    assert not raw.closed and not buffered.closed


# Bad input: a RowError naming line and column, or an ImportFileError with a clear message


@pytest.mark.parametrize(
    ("change", "column", "words"),
    [
        ({"BilledCost": "twelve"}, "BilledCost", "not a number"),
        ({"EffectiveCost": "1,5"}, "EffectiveCost", "dot as the decimal separator"),
        ({"BilledCost": "NaN"}, "BilledCost", "not a number"),
        ({"BilledCost": "inf"}, "BilledCost", "not a number"),
        ({"BilledCost": ""}, "BilledCost", "is empty"),
        ({"BillingCurrency": "XYZ"}, "BillingCurrency", "ISO 4217"),
        ({"BillingCurrency": "Credits"}, "BillingCurrency", "ISO 4217"),
        ({"ChargePeriodStart": "yesterday"}, "ChargePeriodStart", "not a date"),
        ({"ChargePeriodStart": "13/45/2025"}, "ChargePeriodStart", "not a valid date"),
        ({"ChargePeriodEnd": "9999-01-01"}, "ChargePeriodEnd", "out of range"),
        ({"ChargePeriodStart": "1970-01-01"}, "ChargePeriodStart", "out of range"),
        ({"ChargePeriodEnd": "2025-02-28T00:00:00Z"}, "ChargePeriodEnd", "before the start"),
        ({"Tags": "{not json"}, "Tags", "not valid JSON"),
        ({"Tags": "[1, 2]"}, "Tags", "JSON object"),
        ({"ConsumedQuantity": "lots"}, "ConsumedQuantity", "not a number"),
    ],
)
def test_focus_bad_cell_gives_a_row_error_naming_line_and_column(change, column, words):
    results = parse(FocusImporter(), focus_bytes(GOOD_ROW, GOOD_ROW | change))

    assert isinstance(results[0], CanonicalRow)
    error = results[1]
    assert isinstance(error, RowError)
    assert (error.line, error.column) == (3, column)
    assert words in error.message and column in error.message


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"\xef\xbb\xbf", "empty"),
        (b"\n\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe\xfd" * 50, "not UTF-8"),
        (b"PK\x03\x04 workbook", "Excel"),
    ],
)
def test_focus_unreadable_files_raise_import_file_error(data, words):
    with pytest.raises(ImportFileError, match=words):
        parse(FocusImporter(), data)


def test_focus_header_missing_billed_cost_is_detected_as_focus_and_named():
    header = [name for name in FOCUS_HEADER if name != "BilledCost"]
    data = focus_bytes(GOOD_ROW, header=header)

    assert detect(data, "x.csv") == "focus"
    with pytest.raises(ImportFileError, match="Missing mandatory column: BilledCost"):
        parse(FocusImporter(), data)


def test_focus_header_with_neither_provider_column_is_refused():
    header = [name for name in FOCUS_HEADER if name != "ProviderName"]
    with pytest.raises(ImportFileError, match="ServiceProviderName, ProviderName"):
        parse(FocusImporter(), focus_bytes(GOOD_ROW, header=header))


def test_focus_row_with_too_many_values_and_a_quoted_multiline_cell():
    data = focus_bytes(GOOD_ROW | {"SkuMeter": "line one\nline two"}) + b"1,2,3" + b",x" * 20 + b"\r\n"
    results = parse(FocusImporter(), data)

    assert isinstance(results[0], CanonicalRow) and results[0].line == 2
    assert isinstance(results[1], RowError) and results[1].line == 4 and "header has" in results[1].message


@pytest.mark.parametrize(
    "importer", [OpenAIUsageImporter, OpenAICostsImporter, AnthropicUsageImporter, AnthropicCostImporter]
)
@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b'{"object": "page", "data": [', "not valid JSON"),
        (b"\xff\xfe\x00garbage\x00", "not UTF-8"),
        (b'{"object": "list"}', "page object"),
    ],
)
def test_json_importers_refuse_broken_files(importer, data, words):
    with pytest.raises(ImportFileError, match=words):
        parse(importer(), data)


def test_openai_usage_cached_above_input_and_bad_bucket_time_are_row_errors():
    page = {
        "object": "page",
        "data": [
            {
                "start_time": 1730419200,
                "end_time": 1730505600,
                "results": [{"input_tokens": 10, "input_cached_tokens": 20}],
            },
            {"start_time": 1730505600, "end_time": 1730419200, "results": [{"input_tokens": 10}]},
            {"start_time": "soon", "end_time": 1730419200, "results": [{"input_tokens": 10}]},
        ],
    }
    errors = parse(OpenAIUsageImporter(), json.dumps(page).encode())

    assert [(e.line, e.column) for e in errors] == [
        (1, "input_cached_tokens"),
        (2, "end_time"),
        (3, "start_time"),
    ]


def test_openai_costs_line_item_gives_model_and_direction_and_currency_is_checked():
    page = {
        "object": "page",
        "data": [
            {
                "start_time": 1730419200,
                "end_time": 1730505600,
                "results": [
                    {
                        "amount": {"value": 1.25, "currency": "usd"},
                        "line_item": "gpt-4o-2024-08-06, input",
                        "project_id": "proj_1",
                    },
                    {"amount": {"value": 0.5, "currency": "usd"}, "line_item": "gpt-4o-mini, cached input"},
                    {"amount": {"value": "abc", "currency": "usd"}, "line_item": None},
                    {"amount": {"value": 1, "currency": "xyz"}, "line_item": None},
                ],
            }
        ],
    }
    results = parse(OpenAICostsImporter(), json.dumps(page).encode())

    assert (results[0].model_name, results[0].token_type, results[0].sub_account) == (
        "gpt-4o-2024-08-06",
        "input",
        "proj_1",
    )
    assert results[0].billed_cost == Decimal("1.25")
    assert (results[1].model_name, results[1].token_type) == ("gpt-4o-mini", "cached_input")
    assert (results[2].line, results[2].column) == (3, "amount.value")
    assert (results[3].line, results[3].column) == (4, "amount.currency")


def test_anthropic_usage_adds_cache_creation_to_total_input():
    results = rows_of(parse(AnthropicUsageImporter(), (HERE / "anthropic_usage_report.json").read_bytes()))
    first = [r for r in results if r.line == 1]

    by_type = [(r.token_type, r.raw_extras.get("cache_ttl", ""), r.quantity) for r in first]
    assert by_type == [
        ("input", "", 1500),
        ("cached_input", "", 200),
        ("cache_write", "5m", 500),
        ("cache_write", "1h", 1000),
        ("output", "", 500),
    ]
    assert first[0].raw_extras["total_input_tokens"] == 1500 + 200 + 500 + 1000
    assert sum(r.quantity for r in first if r.token_type != "output") == 3200
    assert (
        first[0].sub_account == "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ"
        and first[0].model_name == "claude-sonnet-4-20250514"
    )
    assert first[0].charge_period_start == datetime.datetime(2025, 8, 1, tzinfo=UTC)
    assert all(r.billed_cost is None for r in results)
    assert [r.token_type for r in results if r.line == 2] == ["input", "output"]  # zero rows skipped


def test_anthropic_cost_amount_is_cents():
    results = rows_of(parse(AnthropicCostImporter(), (HERE / "anthropic_cost_report.json").read_bytes()))

    assert [r.billed_cost for r in results] == [
        Decimal("4.5"),
        Decimal("7.505"),
        Decimal("0.1278912"),
        Decimal("10"),
    ]
    assert [r.token_type for r in results] == ["input", "output", "cache_write", ""]
    assert results[2].raw_extras["cache_ttl"] == "1h"
    assert results[3].raw_extras["cost_type"] == "web_search"


def test_anthropic_cost_bad_amount_and_currency_are_row_errors():
    page = {
        "data": [
            {
                "starting_at": "2025-08-01T00:00:00Z",
                "ending_at": "2025-08-02T00:00:00Z",
                "results": [
                    {"amount": "12,5", "currency": "USD"},
                    {"amount": "1", "currency": "XYZ"},
                    "oops",
                ],
            }
        ]
    }
    errors = parse(AnthropicCostImporter(), json.dumps(page).encode())

    assert [(e.line, e.column) for e in errors] == [(1, "amount"), (2, "currency"), (3, "")]


# LiteLLM


def test_litellm_spend_logs_csv_one_row_per_request_with_estimate_and_tags():
    results = rows_of(parse(LiteLLMSpendLogsImporter(), (HERE / "litellm_spend_logs.csv").read_bytes()))
    first = results[0]

    assert len(results) == 4 and [r.requests for r in results] == [1, 1, 1, 1]
    assert first.source_row_key == "chatcmpl-9f1c2a7e-0001"
    assert (first.billed_cost, first.effective_cost, first.list_cost) == (
        None,
        Decimal("0.00375"),
        Decimal("0.00375"),
    )
    assert first.is_estimated and first.token_type == "" and first.quantity == 1500
    assert first.raw_extras["input_tokens"] == 1000 - 256 and first.raw_extras["cached_tokens"] == 256
    assert first.raw_extras["output_tokens"] == 500 and first.raw_extras["prompt_tokens"] == 1000
    assert first.tags == {
        "use_case": "support-bot",
        " cost center": "CC-12",
        "request_tag:use_case:support-bot": "true",
        "request_tag:User-Agent: OpenAI/Python 1.51.0": "true",
        "litellm.key_alias": "support-prod",
        "litellm.team_alias": "Customer Support",
        "litellm.team_id": "team-support",
        "litellm.organization_id": "org-1",
        "litellm.end_user": "cust-42",
    }
    assert (first.provider_name, first.model_name, first.user_label) == (
        "openai",
        "gpt-4o-2024-08-06",
        "alice@example.com",
    )
    assert first.charge_period_start == datetime.datetime(2025, 3, 3, 9, 15, 2, 123000, tzinfo=UTC)
    assert results[2].tags == {
        "request_tag:use_case:search": "true",
        "litellm.team_id": "team-search",
    }  # "NULL" metadata
    assert results[3].raw_extras["status"] == "failure"


def test_litellm_spend_logs_json_matches_the_csv_mapping_and_never_copies_messages():
    results = rows_of(parse(LiteLLMSpendLogsImporter(), (HERE / "litellm_spend_logs.json").read_bytes()))
    wrapped = rows_of(
        parse(
            LiteLLMSpendLogsImporter(),
            json.dumps({"data": json.loads((HERE / "litellm_spend_logs.json").read_text())}).encode(),
        )
    )

    assert [r.source_row_key for r in results] == ["chatcmpl-b71e-0001", "chatcmpl-b71e-0002"]
    assert [r.source_row_key for r in wrapped] == [r.source_row_key for r in results]
    assert results[0].effective_cost == Decimal("0.01245") and results[0].provider_name == "azure"
    assert results[0].tags["environment"] == "production"
    assert "never copied" not in json.dumps([r.raw_extras for r in results] + [r.tags for r in results])


def test_litellm_spend_log_errors_name_the_column():
    header = "request_id,spend,startTime,endTime,prompt_tokens,completion_tokens,metadata,request_tags\n"
    data = (
        header
        + "r1,abc,2025-03-03T00:00:00Z,2025-03-03T00:00:01Z,1,1,{},[]\n"
        + "r2,0.1,2025-03-03T00:00:02Z,2025-03-03T00:00:01Z,1,1,{},[]\n"
        + "r3,0.1,2025-03-03T00:00:00Z,,-4,1,{},[]\n"
        + "r4,0.1,2025-03-03T00:00:00Z,,1,1,{oops,[]\n"
        + ",0.1,2025-03-03T00:00:00Z,,1,1,{},[]\n"
    ).encode()
    errors = parse(LiteLLMSpendLogsImporter(), data)

    assert [(e.line, e.column) for e in errors] == [
        (2, "spend"),
        (3, "endTime"),
        (4, "prompt_tokens"),
        (5, "metadata"),
        (6, "request_id"),
    ]
    with pytest.raises(ImportFileError, match="request_id"):
        parse(LiteLLMSpendLogsImporter(), b"spend,startTime\n1,2025-01-01\n")


def test_litellm_daily_tables_key_on_their_natural_key():
    team = rows_of(parse(LiteLLMDailySpendImporter(), (HERE / "litellm_daily_team_spend.csv").read_bytes()))
    tags = rows_of(parse(LiteLLMDailySpendImporter(), (HERE / "litellm_daily_tag_spend.csv").read_bytes()))

    assert team[0].charge_period_start == datetime.datetime(2025, 3, 3, tzinfo=UTC)
    assert team[0].charge_period_end == datetime.datetime(2025, 3, 4, tzinfo=UTC)
    assert team[0].tags == {"litellm.team_id": "team-support"} and team[0].requests == 812
    assert team[0].raw_extras["input_tokens"] == 1_050_000 and team[0].raw_extras["cached_tokens"] == 200_000
    assert team[0].is_estimated and team[0].billed_cost is None and team[0].effective_cost == Decimal("6.225")
    assert team[0].source_row_key.startswith("team_id:2025-03-03:")
    assert tags[0].tags == {"request_tag:use_case:support-bot": "true"}
    # The row id (a UUID local to one LiteLLM database) is not part of the key.
    changed_id = (HERE / "litellm_daily_team_spend.csv").read_bytes().replace(b"6f0c1a52", b"00000000")
    assert [r.source_row_key for r in parse(LiteLLMDailySpendImporter(), changed_id)] == [
        r.source_row_key for r in team
    ]


# Generic CSV


def test_generic_csv_costed_and_usage_only_lines():
    results = rows_of(parse(GenericCsvImporter(), (HERE / "generic_spend.csv").read_bytes()))
    openai, anthropic_in, anthropic_out, seats, credit = results

    assert openai.billed_cost == Decimal("12.40") and openai.quantity == 920_000 and openai.requests == 950
    assert openai.raw_extras == {"input_tokens": 700_000, "cached_tokens": 100_000, "output_tokens": 120_000}
    assert openai.tags == {
        "feature": "triage",
        "use_case": "support-bot",
        "team": "cx",
        "environment": "production",
    }
    assert (openai.environment, openai.sub_account, openai.billing_account) == (
        "production",
        "proj-support",
        "org-acme",
    )
    assert [(r.token_type, r.quantity, r.billed_cost) for r in (anthropic_in, anthropic_out)] == [
        ("input", 100_000, None),
        ("output", 20_000, None),
    ]
    assert anthropic_in.charge_period_start == datetime.datetime(2025, 4, 2, tzinfo=UTC)  # US date
    assert anthropic_in.requests + anthropic_out.requests == 40
    assert seats.billed_cost == Decimal("1234.50") and seats.currency == "EUR" and " seat type" in seats.tags
    assert credit.billed_cost == Decimal("-50.00")


def test_generic_csv_errors():
    data = (
        b"date,provider,cost,currency,input_tokens,cached_tokens\n"
        b"2025-04-01,OpenAI,abc,USD,,\n"
        b"2025-04-01,OpenAI,1,XYZ,,\n"
        b"not-a-date,OpenAI,1,USD,,\n"
        b"2025-04-01,OpenAI,,USD,,\n"
        b"2025-04-01,OpenAI,1,USD,10,20\n"
        b"2025-04-01,,1,USD,,\n"
    )
    errors = parse(GenericCsvImporter(), data)

    assert [(e.line, e.column) for e in errors] == [
        (2, "cost"),
        (3, "currency"),
        (4, "date"),
        (5, "cost"),
        (6, "cached_tokens"),
        (7, "provider"),
    ]
    with pytest.raises(ImportFileError, match="currency"):
        parse(GenericCsvImporter(), b"date,provider,cost\n2025-04-01,OpenAI,1\n")
    with pytest.raises(ImportFileError, match="date"):
        parse(GenericCsvImporter(), b"provider,cost,currency\nOpenAI,1,USD\n")


def test_generic_csv_docstring_example_parses():
    doc = generic.__doc__
    example = [line.strip() for line in doc.splitlines() if line.startswith("    ") and "," in line]
    results = rows_of(parse(GenericCsvImporter(), "\n".join(example).encode()))

    assert [r.token_type for r in results] == ["", "input", "output"]


# Shared helpers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.5", Decimal("1.5")),
        ("-0.25", Decimal("-0.25")),
        ("1e-6", Decimal("0.000001")),
        ("1E+3", Decimal("1000")),
        ("1,234.50", Decimal("1234.50")),
        ("$10,000.00 ", Decimal("10000.00")),
        ("-$5", Decimal("-5")),
        ("(12.00)", Decimal("-12.00")),
        (".5", Decimal("0.5")),
        ("", None),
        ("NULL", None),
        ("null", None),
        ("None", None),
        ("NA", None),
        ("N/A", None),
    ],
)
def test_parse_decimal_accepts(text, expected):
    assert parse_decimal(text) == expected


@pytest.mark.parametrize(
    "text", ["NaN", "inf", "-Infinity", "1,5", "1.2.3", "12abc", "1,23", "1e400", "0x10", True]
)
def test_parse_decimal_rejects(text):
    with pytest.raises(ValueError):
        parse_decimal(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-04-01", datetime.datetime(2025, 4, 1, tzinfo=UTC)),
        ("2025-04-01T12:30:00Z", datetime.datetime(2025, 4, 1, 12, 30, tzinfo=UTC)),
        ("2025-04-01 12:30:00", datetime.datetime(2025, 4, 1, 12, 30, tzinfo=UTC)),
        ("2025-04-01T14:30:00+02:00", datetime.datetime(2025, 4, 1, 12, 30, tzinfo=UTC)),
        ("2025-04-01T12:30:00.123456789Z", datetime.datetime(2025, 4, 1, 12, 30, 0, 123456, tzinfo=UTC)),
        ("2025-04-01 12:30:00 UTC", datetime.datetime(2025, 4, 1, 12, 30, tzinfo=UTC)),
        ("2025-04-01T12:30:00+0000", datetime.datetime(2025, 4, 1, 12, 30, tzinfo=UTC)),
        ("04/01/2025", datetime.datetime(2025, 4, 1, tzinfo=UTC)),
        ("4/1/25", datetime.datetime(2025, 4, 1, tzinfo=UTC)),
        ("04/01/2025 13:05", datetime.datetime(2025, 4, 1, 13, 5, tzinfo=UTC)),
        ("4/1/2025 1:05:09 PM", datetime.datetime(2025, 4, 1, 13, 5, 9, tzinfo=UTC)),
        ("1730419200", datetime.datetime(2024, 11, 1, tzinfo=UTC)),
        (1730419200, datetime.datetime(2024, 11, 1, tzinfo=UTC)),
        ("NULL", None),
    ],
)
def test_parse_timestamp_accepts(text, expected):
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize(
    "text", ["yesterday", "2025-13-01", "02/30/2025", "1899-01-01", "2200-01-01", "99999999999999"]
)
def test_parse_timestamp_rejects(text):
    with pytest.raises(ValueError):
        parse_timestamp(text)


def test_currency_codes():
    assert parse_currency(" usd ") == "USD" and parse_currency("EUR") == "EUR"
    for bad in ("XYZ", "Token", "Credits", "XAU", "", "US"):
        with pytest.raises(ValueError, match="ISO 4217"):
            parse_currency(bad)


@pytest.mark.parametrize(
    ("unit", "multiplier"),
    [
        ("Tokens", 1),
        ("token", 1),
        ("1K Tokens", 1000),
        ("1k tokens", 1000),
        ("1000 Tokens", 1000),
        ("1,000 Tokens", 1000),
        ("1M Tokens", 1_000_000),
        ("1 Million Tokens", 1_000_000),
        ("Million Tokens", 1_000_000),
        ("Tokens (1K)", 1000),
        ("Tokens (Thousands)", 1000),
        ("Hours", None),
        ("GB", None),
        ("", None),
    ],
)
def test_token_unit_multiplier(unit, multiplier):
    assert token_unit_multiplier(unit) == multiplier


def test_tags_and_hash_helpers():
    assert parse_tags('{" Team": "cx", "cost": 1.5, "list": [1]}') == {
        " Team": "cx",
        "cost": "1.5",
        "list": "[1]",
    }
    assert parse_tags("NULL") == {} and parse_tags("") == {} and parse_tags("null") == {}
    assert content_hash("a", "b") == content_hash("a", "b") != content_hash("ab", "")
    assert len(content_hash("x")) == 40


# Streaming


def test_a_focus_file_streams_in_memory_that_does_not_grow_with_it(tmp_path):
    # Given a FOCUS file of 25,000 rows (5 MB). The bound is below the file's size, so reading it
    # whole would fail, and holding what each row leaves behind fails from 170 bytes a row: 200,000
    # rows against a 50 MB bound proved less (a 40 MB read would pass, 250 bytes a row) and took
    # eight times longer, every allocation traced.
    rows, bound = 25_000, 4 * 1024 * 1024
    path = tmp_path / "big.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(FOCUS_HEADER)
        for i in range(rows):
            writer.writerow(
                [
                    f"{i % 997}.{i % 100:02d}",
                    "1.00",
                    "1.10",
                    "USD",
                    f"2025-03-{1 + i % 28:02d}T00:00:00Z",
                    f"2025-03-{2 + i % 28:02d}T00:00:00Z",
                    "Usage",
                    "AWS",
                    "Amazon Bedrock",
                    "AI and Machine Learning",
                    str(i),
                    "Tokens",
                    "USE1-Claude3.5Sonnet-output-tokens" if i % 2 else "USE1-Claude3.5Sonnet-input-tokens",
                    f"acct-{i % 5}",
                    json.dumps({"use_case": f"uc-{i % 7}", "row": str(i)}),
                ]
            )
    assert path.stat().st_size > bound
    expected = sum(Decimal(f"{i % 997}.{i % 100:02d}") for i in range(rows))

    tracemalloc.start()
    try:
        count, total, errors = 0, Decimal(0), 0
        with path.open("rb") as handle:
            for result in FocusImporter().parse(handle):
                if isinstance(result, RowError):
                    errors += 1
                else:
                    count += 1
                    total += result.billed_cost
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert (count, errors, total) == (rows, 0, expected)
    assert peak < bound, f"peak {peak / 1e6:.1f} MB"
