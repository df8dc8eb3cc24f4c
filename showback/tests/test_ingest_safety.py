"""Hostile and huge spend files: refused while they stream, naming the limit, in bounded memory.

Memory is measured with tracemalloc (the Python allocations of the whole import: reading,
parsing, writing): the bound stated in docs/integration.md is what these tests pin.
"""

import gzip
import io
import json
import tracemalloc

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from showback.ingest.importers.base import ImportFileError
from showback.ingest.importers.common import open_maybe_gzip
from showback.ingest.services import spend_import_create, spend_import_run
from showback.models import ImportBatch, ImportMode, SpendRecord

from .bombs import GENERIC_HEADER, GENERIC_ROW, MB, gzip_bomb
from .focus_files import focus_csv, focus_rows

pytestmark = pytest.mark.django_db


def _import(cast, content, name, mode=ImportMode.ALL_OR_NOTHING):
    """(batch, peak Python memory of the import in bytes)."""
    batch = spend_import_create(
        actor=cast.finance, uploaded_file=SimpleUploadedFile(name, content), mode=mode, queue=False
    )
    tracemalloc.start()
    try:
        spend_import_run(batch_id=batch.pk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    batch.refresh_from_db()
    return batch, peak


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


def test_the_bomb_helper_builds_a_valid_gzip_file_of_what_it_says():
    bomb = gzip_bomb(GENERIC_HEADER, GENERIC_ROW, 3 * MB)

    rows = GENERIC_ROW * (MB // len(GENERIC_ROW))
    assert gzip.decompress(bomb) == GENERIC_HEADER + rows * 3  # CRC-32 and size checked too
    assert len(bomb) * 300 < len(GENERIC_HEADER + rows * 3)


def test_a_gzip_bomb_is_refused_as_soon_as_the_ratio_is_judged(settings, monkeypatch):
    # Given a bomb expanding some 340 times, the ratio judged from the first MB out
    monkeypatch.setattr("showback.ingest.importers.common.RATIO_FLOOR", MB)
    settings.AIFINOPS_IMPORT_MAX_RATIO = 200
    stream = open_maybe_gzip(io.BytesIO(gzip_bomb(GENERIC_HEADER, GENERIC_ROW, 64 * MB)))

    # When it is read until refused
    handed_out = 0
    with pytest.raises(ImportFileError, match="IMPORT_MAX_RATIO"):
        while chunk := stream.read(64 * 1024):
            handed_out += len(chunk)

    # Then no more than the floor and one read came out: the ratio is judged against the compressed
    # bytes expanded so far, not those read ahead (counting gzip.GzipFile's 8 KB reads let out 3.75 MB)
    assert handed_out <= MB + 64 * 1024, handed_out / MB


def test_a_csv_gzip_bomb_is_refused_by_its_ratio_naming_the_limit_in_bounded_memory(cast, media, monkeypatch):
    # Given 1 MB of gzip that expands to 256 MB of valid-looking CSV rows, the ratio judged from the
    # first 256 KB out: by then some 7,700 rows have been parsed and a chunk of 5,000 written, all the
    # import does with any more of them (judged from 1 MB, it parsed four times as many rows)
    floor = 256 * 1024
    monkeypatch.setattr("showback.ingest.importers.common.RATIO_FLOOR", floor)
    bomb = gzip_bomb(GENERIC_HEADER, GENERIC_ROW, 256 * MB)
    assert len(bomb) < MB

    batch, peak = _import(cast, bomb, "bill.csv.gz")

    # Then it is refused, the limit named, nothing written, memory stayed small, and no more rows
    # were parsed than fit in the floor and one read
    assert batch.status == "failed"
    assert "IMPORT_MAX_RATIO" in batch.error and "200 times" in batch.error
    assert not SpendRecord.objects.exists()
    assert peak < 64 * MB, peak
    assert batch.rows_read <= (floor + 64 * 1024) // len(GENERIC_ROW), batch.rows_read


def test_a_json_gzip_bomb_is_refused_by_its_decompressed_size(cast, media, settings):
    # Given a .json.gz expanding far past a 1 MB limit, with the ratio check out of the way. Past 1 MB
    # some 11,000 records have been parsed and two chunks of 5,000 written, all the import does with
    # any more of them: the 4 MB limit this test had only took four times longer.
    settings.AIFINOPS_IMPORT_MAX_DECOMPRESSED_BYTES = MB
    settings.AIFINOPS_IMPORT_MAX_RATIO = 1_000_000
    record = json.dumps(
        {"request_id": "r", "startTime": "2025-01-01T00:00:00Z", "spend": 0.01, "model": "gpt-4o"}
    ).encode()
    bomb = gzip_bomb(b"[" + record, b"," + record, 512 * MB)

    batch, peak = _import(cast, bomb + gzip.compress(b"]"), "spend.json.gz")

    # Then it is refused at the limit, the limit named, nothing written, and memory stayed small
    assert batch.status == "failed"
    assert "more than 1 MB" in batch.error and "IMPORT_MAX_DECOMPRESSED_MB" in batch.error
    assert not SpendRecord.objects.exists()
    assert peak < 96 * MB, peak
    assert batch.rows_read <= MB // len(b"," + record), batch.rows_read


@pytest.mark.parametrize("compress", [False, True])
def test_an_endless_focus_line_is_refused_with_its_line_number_before_copy(cast, media, settings, compress):
    # Given a FOCUS file whose fourth line never ends (the bulk path would COPY it whole)
    settings.AIFINOPS_IMPORT_MAX_LINE_BYTES = MB
    content = focus_csv(focus_rows(2)) + b"x" * (8 * MB)
    if compress:
        content = gzip.compress(content)

    batch, peak = _import(cast, content, "bill.csv.gz" if compress else "bill.csv")

    assert batch.status == "failed"
    assert "Line 4 is longer than 1 MB" in batch.error and "IMPORT_MAX_LINE_KB" in batch.error
    assert not SpendRecord.objects.exists()
    assert peak < 48 * MB, peak


def test_an_open_quote_running_past_the_limit_is_refused_with_its_line(cast, media, settings):
    settings.AIFINOPS_IMPORT_MAX_LINE_BYTES = 256 * 1024
    content = GENERIC_HEADER + b'2025-01-01,openai,"gpt' + b"\nxxxxxxxxxx" * 100_000

    batch, _ = _import(cast, content, "spend.csv")

    assert batch.status == "failed"
    assert "Line 2 holds a value longer than 256 KB" in batch.error


def test_a_json_record_longer_than_the_limit_is_refused_with_its_number(cast, media, settings):
    settings.AIFINOPS_IMPORT_MAX_LINE_BYTES = 256 * 1024
    good = {"request_id": "r1", "startTime": "2025-01-01T00:00:00Z", "spend": 0.01, "model": "gpt-4o"}
    huge = good | {"request_id": "r2", "messages": "x" * (2 * MB)}
    content = json.dumps([good, huge]).encode()

    batch, _ = _import(cast, content, "spend.json")

    assert batch.status == "failed"
    assert "Record 2 is longer than 256 KB" in batch.error


def test_a_large_json_file_imports_as_a_stream(cast, media):
    # Given a LiteLLM spend log of about 40 MB, one long prompt in each record
    records = [
        {
            "request_id": f"req-{i}",
            "startTime": "2025-01-01T00:00:00Z",
            "endTime": "2025-01-01T00:00:01Z",
            "spend": 0.001,
            "model": "gpt-4o",
            "messages": "a prompt " * 2000,
        }
        for i in range(2000)
    ]
    content = json.dumps(records).encode()
    assert len(content) > 30 * MB

    batch, peak = _import(cast, content, "spend.json")

    # Then every record is imported and memory stayed well below the file's size
    assert batch.status == "succeeded", batch.error
    assert batch.rows_imported == 2000
    assert peak < len(content) / 3, (peak, len(content))


def test_a_file_of_only_rejects_stops_at_the_rejects_kept(cast, media, monkeypatch):
    # Given a whole-file import of 30,000 bad rows, with 1,000 rejects kept
    monkeypatch.setattr("showback.ingest.services.MAX_REJECTS_KEPT", 1000)
    content = GENERIC_HEADER + b"not a date,openai,gpt-4o,0.01,USD\n" * 30_000

    batch, _ = _import(cast, content, "spend.csv")

    assert batch.status == "failed"
    assert len(batch.rejects) == 1000
    assert batch.rows_read <= 1001
    assert "reading stopped" in batch.error


@pytest.mark.parametrize("via", ["page", "api"])
def test_an_upload_past_the_limit_is_refused_413_naming_it(login, cast, media, settings, via):
    # Given a 1 MB limit and a 3 MB upload
    settings.AIFINOPS_IMPORT_MAX_BYTES = MB
    upload = SimpleUploadedFile("bill.csv", focus_csv(focus_rows(2)) + b"#" * (3 * MB))
    client = login(cast.finance)

    if via == "page":
        response = client.post(reverse("showback:import_list"), {"file": upload})
        text = response.content.decode()
    else:
        response = client.post(reverse("api-spend-import-list"), {"file": upload})
        text = json.dumps(response.json())

    assert response.status_code == 413
    assert "the limit is 1 MB" in text and "IMPORT_MAX_MB" in text
    assert not ImportBatch.objects.exists()


def test_detection_reads_the_head_only_and_the_request_never_parses(cast, media, monkeypatch):
    # When a file is uploaded, no importer runs in the request: parsing is the worker's
    def refuse(*args, **kwargs):
        raise AssertionError("parsed in the web request")

    monkeypatch.setattr("showback.ingest.importers.focus.FocusImporter.parse", refuse)
    content = focus_csv(focus_rows(5))

    batch = spend_import_create(
        actor=cast.finance, uploaded_file=SimpleUploadedFile("bill.csv", io.BytesIO(content).read())
    )

    assert batch.status == "queued" and batch.source_format == "focus"


def _litellm_record(number, user="ana"):
    return (
        f'{{"request_id": "req-{number}", "startTime": "2025-01-01T00:00:00Z", "spend": 0.25, '
        f'"model": "gpt-4o", "user": "{user}"}}'
    )


@pytest.mark.parametrize("escape", [r"\ud800", r"\udfff", r"x\uD83D", r"\ud83d\u0041"])
def test_a_lone_surrogate_escape_in_a_json_file_is_refused_by_record_never_stored_altered(
    cast, media, escape
):
    # Given a LiteLLM spend log whose second record's user is half of a surrogate pair, escaped
    content = f"[{_litellm_record(1)}, {_litellm_record(2, escape)}, {_litellm_record(3)}]".encode()

    # When it is imported whole, then it is refused naming record 2, nothing stored
    batch, _ = _import(cast, content, "spend.json")
    assert batch.status == "failed"
    assert [(r["line"], "surrogate" in r["message"]) for r in batch.rejects] == [(2, True)]
    assert not SpendRecord.objects.exists()

    # When only its valid rows are imported, records 1 and 3 are, and no user was stored as "?"
    batch, _ = _import(cast, content, "again.json", mode=ImportMode.VALID_ROWS)
    assert batch.status == "succeeded" and batch.rows_imported == 2 and batch.rows_rejected == 1
    assert sorted(SpendRecord.objects.values_list("user_label", flat=True)) == ["ana", "ana"]


def test_escaped_pairs_and_escaped_backslashes_are_kept_as_written(cast, media):
    # An emoji written as its escaped pair, upper or lower case, and "\\ud800" (a backslash, then
    # the letters ud800) are text: stored exactly
    users = [r"\ud83d\ude00", r"\uD83D\uDE00", r"\\ud800", r"\\\ud83d\ude00"]
    content = ("[" + ", ".join(_litellm_record(i, u) for i, u in enumerate(users)) + "]").encode()

    batch, _ = _import(cast, content, "spend.json")

    assert batch.status == "succeeded", batch.error
    stored = set(SpendRecord.objects.values_list("user_label", flat=True))
    assert stored == {"\U0001f600", "\\ud800", "\\\U0001f600"}


def test_a_lone_surrogate_in_an_openai_usage_bucket_is_refused_by_result(cast, media):
    kind = "organization.usage.completions.result"
    result = {"object": kind, "input_tokens": 10, "output_tokens": 5, "model": "gpt-4o"}
    results = [result | {"project_id": "p1"}, result | {"project_id": "PLACEHOLDER"}]
    bucket = {"object": "bucket", "start_time": 1730419200, "end_time": 1730505600, "results": results}
    page = {"object": "page", "data": [bucket]}
    content = json.dumps(page).replace("PLACEHOLDER", r"p\udbff").encode()

    batch, _ = _import(cast, content, "usage.json", mode=ImportMode.VALID_ROWS)

    assert batch.status == "succeeded" and [r["line"] for r in batch.rejects] == [2]
    assert set(SpendRecord.objects.values_list("sub_account", flat=True)) == {"p1"}
    assert "result 2 holds half of a surrogate pair" in batch.rejects[0]["message"]
