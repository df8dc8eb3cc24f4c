"""Importers under damage (hypothesis): whatever the bytes, a clean rejection or a consistent import.

Given arbitrary bytes, or a valid export damaged the way files get damaged (cut short, bytes flipped,
columns dropped or doubled, lines shuffled, NULs, another encoding, huge numbers, impossible dates),
when an importer parses it, then it yields rows and row errors or raises ImportFileError, and never
anything else; and when the import service takes it (real PostgreSQL), then the file is imported
whole and consistently (rows read = imported + duplicate + rejected, daily rollups = records) or
nothing is written, and no exception escapes.
"""

import copy
import csv
import datetime
import gzip
import io
import json
import logging
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.db.models import Count, Sum
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from portfolio.tests.factories import AIModelFactory, ProviderFactory, TeamFactory, UseCaseFactory
from showback.ingest.importers.base import CanonicalRow, ImportFileError, RowError
from showback.ingest.importers.common import ISO_4217, MAX_MONEY, MAX_YEAR, MIN_YEAR
from showback.ingest.importers.registry import IMPORTERS, detect
from showback.ingest.services import spend_import_create, spend_import_run
from showback.models import DailySpend, ImportBatch, ImportMode, SpendRecord, TokenType

from .focus_files import focus_csv, focus_rows

DATA = Path(__file__).parent / "data"
OPENAI_USAGE = {
    "object": "page",
    "data": [
        {
            "object": "bucket",
            "start_time": 1730419200,
            "end_time": 1730505600,
            "results": [
                {
                    "object": "organization.usage.completions.result",
                    "input_tokens": 1000,
                    "input_cached_tokens": 400,
                    "input_cache_write_tokens": 100,
                    "output_tokens": 500,
                    "num_model_requests": 5,
                    "project_id": "proj_1",
                    "api_key_id": None,
                    "model": "gpt-4o-2024-08-06",
                    "batch": False,
                },
                {"input_tokens": 16, "num_model_requests": 2, "model": "text-embedding-3-small"},
            ],
        }
    ],
    "has_more": False,
}
OPENAI_COSTS = {
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
                {"amount": {"value": 0.06, "currency": "usd"}, "line_item": None, "project_id": None},
            ],
        }
    ],
}
# A valid export of every format. The generated FOCUS bill is larger than the 4 KiB the upload
# checks for NUL bytes, so damage past that point reaches the importers and the bulk path.
SEEDS = {
    "focus": [
        (DATA / "focus_1_2_bedrock.csv").read_bytes(),
        (DATA / "focus_1_3_azure_openai.csv").read_bytes(),
        focus_csv(focus_rows(12, use_cases=("support-reply-drafter",), teams=("support",))),
    ],
    "litellm": [
        (DATA / "litellm_spend_logs.csv").read_bytes(),
        (DATA / "litellm_spend_logs.json").read_bytes(),
    ],
    "litellm_daily": [
        (DATA / "litellm_daily_team_spend.csv").read_bytes(),
        (DATA / "litellm_daily_tag_spend.csv").read_bytes(),
    ],
    "openai_usage": [json.dumps(OPENAI_USAGE).encode()],
    "openai_costs": [json.dumps(OPENAI_COSTS).encode()],
    "anthropic_usage": [(DATA / "anthropic_usage_report.json").read_bytes()],
    "anthropic_costs": [(DATA / "anthropic_cost_report.json").read_bytes()],
    "generic": [(DATA / "generic_spend.csv").read_bytes()],
}
assert set(SEEDS) == set(IMPORTERS), "every importer has a seed file"
SEED_CASES = [(name, index) for name, seeds in SEEDS.items() for index in range(len(seeds))]

NASTY_TEXT = [
    "",
    " ",
    "NULL",
    "n/a",
    "-1",
    "-0",
    "0",
    "1e400",
    "-1e400",
    "1e-400",
    "NaN",
    "Infinity",
    "9" * 40,
    "999999999999.9999999",
    "999999999999999999.9999999",
    "99999999999999999",
    "18446744073709551616",
    "2147483648",
    "(12.00)",
    "$1,234.50",
    "1,5",
    "1.2.3",
    "2025-13-45",
    "2025-02-30",
    "0000-00-00",
    "1970-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "2099-12-31T23:59:59.9999999Z",
    "02/30/2025",
    "31/12/2025",
    "99999999999999",
    "1730419200",
    "2025-04-01T00:00:00+14:00",
    "XYZ",
    "usd",
    "1M Tokens",
    "1000000000 tokens",
    "billion tokens",
    '{"use_case": "support-reply-drafter"}',
    '{"a": [1, {"b": null}]}',
    "[1, 2]",
    '{"a":',
    '"',
    "\x00",
    "a\x00b",
    "\u202e\ufeff",
    "é" * 3,
    "\ud800",
    "x" * 400,
]
NASTY_JSON = [
    None,
    True,
    False,
    -1,
    0,
    2**31,
    2**63,
    10**40,
    -(10**30),
    1e308,
    -0.0,
    1.5,
    [],
    {},
    [None],
    {"a": {"b": [1]}},
    "NaN",
    "x\u0000y",
    "\ud800",
    *NASTY_TEXT[:12],
    "2025-13-45",
    "9999-12-31T23:59:59Z",
]


def _rows_of(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


@st.composite
def damaged_csv(draw, data: bytes) -> list[list[str]]:
    rows = [list(row) for row in _rows_of(data)]
    for _ in range(draw(st.integers(1, 4))):
        width = max(len(row) for row in rows)
        op = draw(st.sampled_from(["cell", "cell", "cell", "drop", "double", "ragged", "shuffle", "repeat"]))
        if op == "cell":
            row = draw(st.integers(0, len(rows) - 1))
            if rows[row]:
                column = draw(st.integers(0, len(rows[row]) - 1))
                rows[row][column] = draw(st.sampled_from(NASTY_TEXT) | st.text(max_size=12))
        elif op == "drop":
            column = draw(st.integers(0, width - 1))
            rows = [row[:column] + row[column + 1 :] for row in rows]
        elif op == "double":
            column = draw(st.integers(0, width - 1))
            renamed = draw(st.booleans())  # the same name twice, or the same values under another name
            rows = [
                [*row, (row[column] + "_2" if renamed and i == 0 else row[column])]
                if column < len(row)
                else row
                for i, row in enumerate(rows)
            ]
        elif op == "ragged":
            row = draw(st.integers(0, len(rows) - 1))
            rows[row] = rows[row][: draw(st.integers(0, len(rows[row])))] + draw(
                st.lists(st.sampled_from(NASTY_TEXT), max_size=2)
            )
        elif op == "shuffle":
            rows = draw(st.permutations(rows))
        elif op == "repeat":
            rows.append(list(draw(st.sampled_from(rows))))
    return rows


def _csv_bytes(rows, terminator="\r\n") -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator=terminator).writerows(rows)
    return out.getvalue().encode("utf-8", "surrogatepass")


def _json_paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _json_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_paths(item, (*path, index))


@st.composite
def damaged_json(draw, data: bytes) -> bytes:
    document = json.loads(data)
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from(list(_json_paths(document))))
        replacement = copy.deepcopy(draw(st.sampled_from(NASTY_JSON)))
        if not path:
            document = draw(st.sampled_from([replacement, [document], {"data": document}]))
            continue
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        op = draw(st.sampled_from(["set", "set", "delete", "double"]))
        if op == "set":
            parent[path[-1]] = replacement
        elif op == "delete":
            del parent[path[-1]]
        elif isinstance(parent, list):
            parent.append(parent[path[-1]])
    return json.dumps(document, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")


@st.composite
def byte_damage(draw, data: bytes) -> bytes:
    # Most examples keep their bytes whole, so that value damage reaches the rows.
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2]))):
        op = draw(st.sampled_from(["cut", "flip", "insert", "lines", "encoding", "gzip"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "cut":
            data = data[:at]
        elif op == "flip" and data:
            data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]
        elif op == "insert":
            junk = draw(st.sampled_from([b"\x00", b"\xff\xfe", b"\xc3", b"\xef\xbb\xbf", b'"', b",", b"\r"]))
            data = data[:at] + junk + data[at:]
        elif op == "lines":
            lines = data.splitlines(keepends=True)
            data = b"".join(draw(st.permutations(lines)))
        elif op == "encoding":
            data = data.decode("utf-8", "replace").encode(
                draw(st.sampled_from(["utf-16", "latin-1", "cp1252"])), "replace"
            )
        elif op == "gzip":
            packed = gzip.compress(data)
            data = packed[: draw(st.integers(2, len(packed)))]
    return data


@st.composite
def damaged_file(draw, name: str, index: int) -> bytes:
    seed = SEEDS[name][index]
    if seed.lstrip()[:1] in (b"{", b"["):
        data = draw(damaged_json(seed))
    else:
        data = _csv_bytes(draw(damaged_csv(seed)), draw(st.sampled_from(["\r\n", "\n"])))
    return draw(byte_damage(data))


def _fits_a_spend_record(row: CanonicalRow) -> None:
    """What the pipeline needs of a row to write it: aware UTC periods in order, a real currency,
    money and counts within the columns, text and JSON that PostgreSQL accepts."""
    assert row.charge_period_start.utcoffset() == datetime.timedelta(0)
    assert row.charge_period_end >= row.charge_period_start
    assert MIN_YEAR <= row.charge_period_start.year < MAX_YEAR
    assert row.currency in ISO_4217
    for cost in (row.billed_cost, row.effective_cost, row.list_cost):
        assert cost is None or (cost.is_finite() and abs(cost) < MAX_MONEY), cost
    # SpendRecord.quantity: 18 digits before the point once rounded to its 6 decimals.
    assert row.quantity.is_finite() and abs(row.quantity) < Decimal("999999999999999999.9999995")
    assert 0 <= row.requests < 2**31, row.requests
    assert row.token_type in {"", *TokenType.values}
    assert row.source_row_key and isinstance(row.source_row_key, str)
    json.dumps(row.tags)
    json.dumps(row.raw_extras)


def _event(name: str) -> None:
    """Count the kind of outcome, for --hypothesis-show-statistics."""
    if currently_in_test_context():
        event(name)


def _parse(name: str, data: bytes) -> list | None:
    """The importer's results, checked; None when it refused the file as a whole."""
    try:
        results = list(IMPORTERS[name]().parse(io.BytesIO(data)))
    except ImportFileError as exc:
        assert str(exc)
        _event("refused as a whole")
        return None
    for result in results:
        assert isinstance(result, CanonicalRow | RowError), result
        if isinstance(result, CanonicalRow):
            _fits_a_spend_record(result)
        else:
            assert result.message
    rows = sum(isinstance(result, CanonicalRow) for result in results)
    _event("no row" if not results else "rows only" if rows == len(results) else "some rejected")
    return results


# On CI the draws are derandomized (the same every run), so that whether a commit lands never
# depends on luck; elsewhere every run draws new examples, and .hypothesis/ replays a failure.
ON_CI = bool(os.environ.get("CI"))
PURE = settings(max_examples=60, deadline=None, derandomize=ON_CI)


@pytest.mark.parametrize("name", list(IMPORTERS))
@PURE
@given(data=st.binary(max_size=2048))
def test_arbitrary_bytes_are_refused_or_parsed_cleanly(name, data):
    assert detect(data[:65536], "upload") in {None, *IMPORTERS}
    _parse(name, data)


@pytest.mark.parametrize("name", list(IMPORTERS))
@PURE
@given(data=st.data())
def test_a_valid_header_then_arbitrary_bytes_is_refused_or_parsed_cleanly(name, data):
    seed = SEEDS[name][0]
    head = seed.split(b"\n", 1)[0] + b"\n" if not seed.lstrip().startswith((b"{", b"[")) else b'{"data": ['
    tail = data.draw(
        st.binary(max_size=1024) | st.text(max_size=200).map(lambda s: s.encode("utf-8", "surrogatepass"))
    )
    _parse(name, head + tail)


@pytest.mark.parametrize(("name", "index"), SEED_CASES)
@settings(max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", 100)), deadline=None, derandomize=ON_CI)
@given(data=st.data())
def test_a_damaged_export_is_refused_or_parsed_into_rows_that_fit(name, index, data):
    damaged = data.draw(damaged_file(name, index))
    assert detect(damaged[:65536], "upload") in {None, *IMPORTERS}
    _parse(name, damaged)


def test_every_seed_parses_without_errors():
    for name, seeds in SEEDS.items():
        for seed in seeds:
            results = _parse(name, seed)
            assert results and not [r for r in results if isinstance(r, RowError)], (name, results)


# The service, on PostgreSQL


class _Undo(Exception):
    """Raised to roll back one example's writes, so that every example starts from the same data."""


@pytest.fixture
def service_data(db, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    bedrock = ProviderFactory(slug="aws-bedrock", name="AWS Bedrock")
    ProviderFactory(slug="openai", name="OpenAI")
    AIModelFactory(provider=bedrock, key="amazon.nova-pro-v1:0")
    team = TeamFactory(slug="support", name="Support")
    UseCaseFactory(team=team, key="support-reply-drafter")
    UseCaseFactory(team=team, key="support-bot")
    # One seed already imported, so that damaged copies of it also meet duplicates.
    _import(SEEDS["focus"][2], "focus", ImportMode.ALL_OR_NOTHING)
    return settings


def _import(content, source_format, mode):
    """The batch, or None when the upload was refused as a whole (ValidationError, nothing stored)."""
    try:
        batch = spend_import_create(
            actor=None,
            uploaded_file=SimpleUploadedFile("spend.csv", content),
            source_format=source_format,
            mode=mode,
            queue=False,
        )
    except ValidationError:
        return None
    return spend_import_run(batch_id=batch.pk)


def _totals(queryset):
    return {
        row["currency"]: (row["billed"], row["effective"])
        for row in queryset.values("currency").annotate(
            billed=Sum("billed_cost"), effective=Sum("effective_cost")
        )
    }


def _state():
    return (
        SpendRecord.objects.count(),
        _totals(SpendRecord.objects.all()),
        sorted(
            DailySpend.objects.values_list("date", "use_case_id", "currency", "billed_cost", "record_count")
        ),
    )


def _import_and_check(content, source_format, mode):
    """Import the file and check the outcome is whole or nothing; the batch's figures, for comparing."""
    before = _state()
    batches = ImportBatch.objects.count()
    batch = _import(content, source_format, mode)
    if batch is None:
        _event("refused at upload")
        assert ImportBatch.objects.count() == batches
        assert _state() == before
        return None
    batch.refresh_from_db()
    written = SpendRecord.objects.filter(import_batch=batch)
    _event(f"{batch.status}, {'some' if batch.rows_rejected else 'no'} rows rejected")
    if batch.status == "failed":
        assert batch.error
        assert (batch.rows_imported, batch.rows_duplicate) == (0, 0)
        assert _state() == before, "a failed import wrote something"
    else:
        assert batch.status == "succeeded", batch.status
        assert batch.rows_read == batch.rows_imported + batch.rows_duplicate + batch.rows_rejected
        if mode == ImportMode.ALL_OR_NOTHING:
            assert batch.rows_rejected == 0
        assert written.count() == batch.rows_imported
        assert SpendRecord.objects.count() == before[0] + batch.rows_imported
        batch_totals = {c: Decimal(v) for c, v in batch.totals.items()}
        assert batch_totals == {c: billed for c, (billed, _) in _totals(written).items()}
        # The daily rollups hold exactly the records, to the last decimal.
        assert _totals(DailySpend.objects.all()) == _totals(SpendRecord.objects.all())
        counted = DailySpend.objects.aggregate(n=Sum("record_count"))["n"] or 0
        assert counted == SpendRecord.objects.count()
    return (
        batch.status,
        batch.rows_read,
        batch.rows_imported,
        batch.rows_duplicate,
        batch.rows_rejected,
        batch.totals,
        sorted(written.values_list("source_row_key", flat=True)),
    )


def _undone(function, *args):
    """function(*args), its writes rolled back."""
    try:
        with transaction.atomic():
            outcome = function(*args)
            raise _Undo(outcome)
    except _Undo as undo:
        return undo.args[0]


# No shrinking against the database: a failure is reported as found, in bounded time.
SERVICE = settings(
    max_examples=int(os.environ.get("HYPOTHESIS_SERVICE_EXAMPLES", 12)),
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    derandomize=ON_CI,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
MODES = st.sampled_from([ImportMode.ALL_OR_NOTHING, ImportMode.VALID_ROWS])


@pytest.mark.parametrize(("name", "index"), SEED_CASES)
@SERVICE
@given(data=st.data())
def test_a_damaged_file_imports_whole_and_consistently_or_writes_nothing(service_data, name, index, data):
    damaged = data.draw(damaged_file(name, index))
    mode = data.draw(MODES)
    source_format = data.draw(st.sampled_from([name, ""]))  # chosen by the user, or detected

    _undone(_import_and_check, damaged, source_format, mode)


FALLBACK_CASES = {
    "a NUL past the first 4 KiB": lambda data: data[:-40] + b"\x00" + data[-40:],
    "bad UTF-8 in a late row": lambda data: data[:-60] + b"\xff\xfe" + data[-60:],
    "a ragged last row": lambda data: data.rstrip(b"\n") + b",extra,values\n",
    "a short row": lambda data: data + b"1.0,1.0\n",
    "an impossible date": lambda data: data.replace(b"2026-10-03T00:00:00Z", b"2026-02-30T00:00:00Z", 1),
    "a cost beyond the money columns": lambda data: data.replace(b"\n0.", b"\n9999999999999.", 1),
    "a billion tokens a unit": lambda data: re.sub(
        rb",\d+,Tokens,anthropic", b",999999999999,1000000000 Tokens,anthropic", data, count=1
    ),
    "a blank billed cost": lambda data: re.sub(rb"\n[0-9.]+,", b"\n,", data, count=1),
    "an unknown currency": lambda data: data.replace(b",USD,", b",XTS,", 1),
    "a broken Tags object": lambda data: data.replace(b'"{""ai-use-case""', b'"{ai-use-case""', 1),
    # Found by hypothesis: the bulk path's header check raised csv.Error out of the import.
    "a carriage return inside the header": lambda data: data.replace(b"ProviderName,", b"ProviderName\r,", 1),
}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the bulk path is PostgreSQL's")
@pytest.mark.parametrize("mode", [ImportMode.ALL_OR_NOTHING, ImportMode.VALID_ROWS])
@pytest.mark.parametrize("case", list(FALLBACK_CASES))
def test_a_damaged_focus_bill_that_the_bulk_path_refuses_goes_row_by_row_with_the_same_outcome(
    service_data, case, mode, caplog
):
    pristine = focus_csv(focus_rows(60, use_cases=("support-reply-drafter",), teams=("support",), seed=11))
    damaged = FALLBACK_CASES[case](pristine)
    assert damaged != pristine and len(damaged) > 4096

    with caplog.at_level(logging.INFO, logger="showback.ingest.services"):
        bulk = _undone(_import_and_check, damaged, "focus", mode)
    service_data.AIFINOPS_BULK_IMPORT = False
    rows = _undone(_import_and_check, damaged, "focus", mode)

    assert bulk == rows
    assert bulk is None or "goes row by row" in caplog.text, caplog.text


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the bulk path is PostgreSQL's")
@SERVICE
@given(data=st.data())
@example(data=None)  # the undamaged bill: the bulk path takes it
def test_a_damaged_focus_bill_gives_the_same_outcome_by_copy_and_row_by_row(service_data, data):
    if data is None:
        damaged = SEEDS["focus"][2]
        mode = ImportMode.ALL_OR_NOTHING
    else:
        damaged = data.draw(damaged_file("focus", 2))
        mode = data.draw(MODES)

    service_data.AIFINOPS_BULK_IMPORT = True
    bulk = _undone(_import_and_check, damaged, "focus", mode)
    service_data.AIFINOPS_BULK_IMPORT = False
    rows = _undone(_import_and_check, damaged, "focus", mode)

    assert bulk == rows


def test_the_seeded_bill_counts_as_duplicates(service_data):
    outcome = _undone(_import_and_check, SEEDS["focus"][2], "focus", ImportMode.ALL_OR_NOTHING)

    assert outcome[:5] == ("succeeded", 12, 0, 12, 0)
    assert SpendRecord.objects.aggregate(n=Count("id"))["n"] == 12


# What hypothesis found, pinned


@pytest.mark.parametrize("name", list(IMPORTERS))
def test_a_gzip_file_cut_short_or_corrupt_is_refused_by_name(name):
    packed = gzip.compress(SEEDS[name][0])
    for damaged in (packed[:20], packed[:10] + b"\xff" * 20 + packed[30:]):
        assert detect(damaged, "spend.csv.gz") is None
        with pytest.raises(ImportFileError, match="gzip file is damaged or cut short"):
            list(IMPORTERS[name]().parse(io.BytesIO(damaged)))


def test_counts_beyond_what_a_spend_record_holds_are_row_errors_naming_the_column():
    generic = SEEDS["generic"][0].replace(b",100000,950,", b",100000,2147483648,", 1)
    daily = SEEDS["litellm_daily"][0].replace(b",6.225,812,", b",6.225,99999999999999999,", 1)
    usage = json.dumps(OPENAI_USAGE).replace('"num_model_requests": 5', '"num_model_requests": 3000000000')
    focus = SEEDS["focus"][0].replace(b",250,1K Tokens,arn", b",99999999999999,1000000000 Tokens,arn", 1)

    errors = {
        name: [r for r in _parse(name, data) if isinstance(r, RowError)]
        for name, data in (
            ("generic", generic),
            ("litellm_daily", daily),
            ("openai_usage", usage.encode()),
            ("focus", focus),
        )
    }

    assert [(e.line, e.column) for e in errors["generic"]] == [(2, "requests")]
    assert [(e.line, e.column) for e in errors["litellm_daily"]] == [(2, "api_requests")]
    assert [(e.line, e.column) for e in errors["openai_usage"]] == [(1, "num_model_requests")]
    assert [e.column for e in errors["focus"]] == ["ConsumedQuantity"]
    assert "out of range" in errors["focus"][0].message


def test_a_json_number_where_openai_sends_a_flag_is_kept_as_text():
    usage = json.dumps(OPENAI_USAGE).replace('"batch": false', '"batch": 1.5')

    rows = _parse("openai_usage", usage.encode())

    assert {row.raw_extras["batch"] for row in rows if row.model_name.startswith("gpt")} == {"1.5"}


# A lone surrogate escape ("\\ud800") is read by the streaming JSON parser (ijson's yajl2 C
# backend) as "?", which PostgreSQL stores: see test_a_lone_surrogate_in_json_is_read_as_a_question_mark.
@pytest.mark.parametrize(("escape", "words"), [("\\u0000", "a NUL character")])
def test_json_text_postgresql_cannot_store_rejects_the_row_and_writes_nothing(service_data, escape, words):
    seed = SEEDS["litellm"][1].decode()
    damaged = seed.replace('"model": "gpt-4o-2024-08-06"', f'"model": "gpt{escape}-4o"', 1).encode()
    records = SpendRecord.objects.count()

    batch = _import(damaged, "litellm", ImportMode.ALL_OR_NOTHING)

    assert batch.status == "failed"
    assert [(r["line"], r["column"]) for r in batch.rejects] == [(1, "")]
    assert words in batch.rejects[0]["message"]
    assert SpendRecord.objects.count() == records

    batch = _import(damaged, "litellm", ImportMode.VALID_ROWS)

    assert batch.status == "succeeded"
    assert (batch.rows_rejected, batch.rows_imported) == (1, batch.rows_read - 1)


def test_a_lone_surrogate_in_json_is_refused_by_record_never_read_as_a_question_mark(service_data):
    seed = SEEDS["litellm"][1].decode()
    damaged = seed.replace('"model": "gpt-4o-2024-08-06"', '"model": "gpt\\ud800-4o"', 1).encode()

    batch = _import(damaged, "litellm", ImportMode.ALL_OR_NOTHING)

    assert batch.status == "failed"
    assert [r["line"] for r in batch.rejects] == [1]
    assert "half of a surrogate pair" in batch.rejects[0]["message"]
    assert not SpendRecord.objects.filter(model_name__startswith="gpt?").exists()


_ESCAPE_ATOMS = [r"\\", r"\ud800", r"\udc00", r"\ud83d\ude00", r"\uD83D", r"\uDE00", r"\u0041", r"\""]
_ESCAPE_ATOMS += ["a", "u", "é"]


@settings(max_examples=300, deadline=None)
@given(
    body=st.lists(st.sampled_from(_ESCAPE_ATOMS), max_size=16).map("".join),
    chunk=st.integers(min_value=1, max_value=24),
)
def test_lone_surrogate_escapes_are_marked_exactly_however_the_bytes_are_cut(body, chunk):
    # Given a JSON string read in chunks of any size, when its escapes are checked as it streams,
    # then it reads as Python's json reads it, each half of a pair with no partner marked, and
    # nothing else changed
    from showback.ingest.importers.readers import LONE_SURROGATE_MARK, _SurrogateEscapes

    document = f'"{body}"'.encode()
    scanner, out = _SurrogateEscapes(), b""
    for start in range(0, len(document), chunk):
        out += scanner.feed(document[start : start + chunk], final=False)
    out += scanner.feed(b"", final=True)

    expected = "".join(LONE_SURROGATE_MARK if 0xD800 <= ord(c) <= 0xDFFF else c for c in json.loads(document))
    assert json.loads(out) == expected
    assert scanner.found == expected.count(LONE_SURROGATE_MARK)
