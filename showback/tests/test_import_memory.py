"""Peak resident memory of the process that imports, the largest and the most hostile files.

Each file is imported by `manage.py import_spend` in a child process against the test database,
with the product's default limits; its peak resident set (VmHWM: Python, the C parsers, zlib,
psycopg, all of it) is read from the kernel as it exits. A process that imports
three rows sets the baseline (Python, Django and the apps loaded); every file, however large or
hostile, must keep the peak within IMPORT_RSS_GROWTH of it: the bound the README states.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from showback.models import ImportBatch, SpendRecord

from .bombs import GENERIC_HEADER, GENERIC_ROW, gzip_bomb
from .focus_files import focus_csv, focus_rows, write_focus_csv

pytestmark = pytest.mark.django_db(transaction=True)

MB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]
# What importing any file may add to the resident memory of a process that has imported 3 rows.
IMPORT_RSS_GROWTH = 48 * MB


def _database_url():
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


# The child reports its own peak resident set (VmHWM) as it exits. Not ru_maxrss from wait4: Linux
# starts a child's ru_maxrss at its parent's high-water mark (the memory it was forked from, before
# exec), so it would measure the test runner.
PROBE = """
import atexit, os, runpy, sys

def report():
    with open("/proc/self/status") as status, open(os.environ["AIFINOPS_RSS_REPORT"], "w") as out:
        out.write(next(line for line in status if line.startswith("VmHWM:")).split()[1])

atexit.register(report)
sys.argv = sys.argv[1:]
runpy.run_path("manage.py", run_name="__main__")
"""


def import_peak_rss(path, *options, media):
    """(exit code, output, peak resident bytes) of `manage.py import_spend path` in a child."""
    report = media / "peak-rss-kb"
    env = os.environ | {
        "DATABASE_URL": _database_url(),
        "DJANGO_SETTINGS_MODULE": "aifinops.settings.test",
        "MEDIA_ROOT": str(media),
        "AIFINOPS_RSS_REPORT": str(report),
    }
    for name in ("IMPORT_MAX_MB", "IMPORT_MAX_DECOMPRESSED_MB", "IMPORT_MAX_RATIO", "IMPORT_MAX_LINE_KB"):
        env.pop(name, None)  # the product's defaults
    child = subprocess.run(
        [sys.executable, "-c", PROBE, "manage.py", "import_spend", str(path), *options],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=600,
        check=False,
    )
    output = child.stdout + child.stderr
    assert report.exists(), output
    return child.returncode, output, int(report.read_text()) * 1024


@pytest.fixture
def media(tmp_path):
    folder = tmp_path / "media"
    folder.mkdir()
    return folder


@pytest.fixture
def baseline(tmp_path, media):
    small = tmp_path / "small.csv"
    small.write_bytes(focus_csv(focus_rows(3, seed=99)))
    code, output, peak = import_peak_rss(small, media=media)
    assert code == 0, output
    SpendRecord.objects.all().delete()
    return peak


def _csv_bomb(path):
    # 3 MB of gzip expanding to 1 GB of rows, as the 1.5 MB .csv.gz
    path.write_bytes(gzip_bomb(GENERIC_HEADER, GENERIC_ROW, 1024 * MB))


def _json_bomb(path):
    record = json.dumps(
        {"request_id": "r", "startTime": "2025-01-01T00:00:00Z", "spend": 0.01, "model": "gpt-4o"}
    ).encode()
    path.write_bytes(gzip_bomb(b"[" + record, b"," + record, 1024 * MB))


def _endless_line(path):
    with path.open("wb") as handle:
        handle.write(focus_csv(focus_rows(2)))
        for _ in range(64):
            handle.write(b"x" * MB)


def _all_rejected(path):
    with path.open("wb") as handle:
        handle.write(GENERIC_HEADER)
        for _ in range(20):
            handle.write(b"not a date,openai,gpt-4o,0.01,USD\n" * 30_000)


def _refused_by(words):
    return lambda batch: batch.status == "failed" and words in batch.error


def _all_read_and_rejected(batch):
    return batch.rows_read == batch.rows_rejected == 600_000 and len(batch.rejects) == 10_000


HOSTILE = {
    "a 3 MB .csv.gz expanding to 1 GB": ("bill.csv.gz", _csv_bomb, (), _refused_by("IMPORT_MAX_RATIO")),
    "a 3.6 MB .json.gz expanding to 1 GB": ("spend.json.gz", _json_bomb, (), _refused_by("IMPORT_MAX_RATIO")),
    "a FOCUS file whose 4th line never ends (64 MB)": (
        "bill.csv",
        _endless_line,
        (),
        _refused_by("Line 4 is longer than 4 MB"),
    ),
    "600,000 rows all rejected, valid rows asked (20 MB)": (
        "bad.csv",
        _all_rejected,
        ("--valid-rows",),
        _all_read_and_rejected,
    ),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_file_is_refused_within_the_memory_bound(tmp_path, media, baseline, name):
    filename, write, options, ended_as_it_should = HOSTILE[name]
    path = tmp_path / filename
    write(path)

    _, output, peak = import_peak_rss(path, *options, media=media)

    print(f"{name}: peak RSS {peak / MB:.0f} MB, baseline {baseline / MB:.0f} MB")
    batch = ImportBatch.objects.latest("pk")
    assert ended_as_it_should(batch), (output, batch.status, batch.error)
    assert not SpendRecord.objects.exists()
    assert peak < baseline + IMPORT_RSS_GROWTH, (peak / MB, baseline / MB)


def test_a_large_valid_focus_file_imports_within_the_memory_bound(tmp_path, media, baseline):
    # Given a FOCUS file of 100,000 rows (some 60 MB), through the bulk path (COPY)
    path = write_focus_csv(tmp_path / "focus.csv", 100_000)

    code, output, peak = import_peak_rss(path, media=media)

    print(f"100,000 FOCUS rows ({path.stat().st_size / MB:.0f} MB): peak RSS {peak / MB:.0f} MB")
    assert code == 0, output
    assert SpendRecord.objects.count() == 100_000
    assert peak < baseline + IMPORT_RSS_GROWTH, (peak / MB, baseline / MB)


def test_a_large_json_log_is_streamed_within_the_memory_bound(tmp_path, media, baseline):
    # Given a LiteLLM spend log of some 100 MB (long prompts), which read whole would take
    # several times its size in Python objects
    path = tmp_path / "spend.json"
    prompt = "a prompt that goes on " * 1500
    with path.open("w") as handle:
        handle.write("[")
        for i in range(3000):
            record = {
                "request_id": f"req-{i}",
                "startTime": "2025-01-01T00:00:00Z",
                "spend": 0.001,
                "model": "gpt-4o",
                "messages": prompt,
            }
            handle.write(("," if i else "") + json.dumps(record))
        handle.write("]")
    assert path.stat().st_size > 90 * MB

    code, output, peak = import_peak_rss(path, media=media)

    print(f"LiteLLM JSON ({path.stat().st_size / MB:.0f} MB): peak RSS {peak / MB:.0f} MB")
    assert code == 0, output
    assert SpendRecord.objects.count() == 3000
    assert peak < baseline + IMPORT_RSS_GROWTH, (peak / MB, baseline / MB)
