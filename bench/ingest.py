"""Ingest benchmark: a generated N-row FOCUS file of AI token lines, imported end to end
(parse, attribution, duplicate check, write, daily rollups) against a plain COPY of the same file
into an unindexed table of text columns, in the same run on the same PostgreSQL.

    scripts/with-services .venv/bin/python bench/ingest.py --rows 100000

Prints rows per second, the process's peak resident memory and the ratio to the plain COPY, and
appends them to bench/results.md.
"""

import argparse
import datetime
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aifinops.settings.test")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.files import File
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    if connection.vendor != "postgresql":
        sys.exit("The ingest benchmark needs PostgreSQL: run it through scripts/with-services.")
    settings.MEDIA_ROOT = tempfile.mkdtemp(prefix="aifinops-bench-")
    old = setup_databases(verbosity=0, interactive=False)
    try:
        from portfolio.tests.factories import ProviderFactory, TeamFactory, UseCaseFactory
        from showback.ingest.services import spend_import_create, spend_import_run
        from showback.models import SpendRecord
        from showback.tests.focus_files import COLUMNS, write_focus_csv

        team = TeamFactory(slug="customer-support", name="Customer Support")
        ProviderFactory(slug="aws-bedrock", name="AWS Bedrock")
        keys = [f"use-case-{i}" for i in range(20)]
        for key in keys:
            UseCaseFactory(key=key, team=team)

        path = Path(tempfile.mkdtemp()) / "focus.csv"
        write_focus_csv(path, args.rows, use_cases=keys, teams=("customer-support",))
        size_mb = path.stat().st_size / 1e6

        columns = ", ".join(f'"{c}" text' for c in COLUMNS)
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE UNLOGGED TABLE bench_copy ({columns})")
            started = time.perf_counter()
            with (
                path.open("rb") as handle,
                cursor.copy("COPY bench_copy FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
            ):
                while data := handle.read(1 << 20):
                    copy.write(data)
            copy_seconds = time.perf_counter() - started
            cursor.execute("DROP TABLE bench_copy")

        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        with path.open("rb") as handle:
            upload = File(handle, name=path.name)
            upload.size = path.stat().st_size
            batch = spend_import_create(actor=None, uploaded_file=upload, source_format="focus", queue=False)
        batch = spend_import_run(batch_id=batch.pk)
        import_seconds = time.perf_counter() - started
        # Peak resident memory of the whole process (Django included), in kilobytes on Linux.
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        grown = peak - rss_before * 1024
        assert batch.status == "succeeded", batch.error
        assert SpendRecord.objects.count() == args.rows
    finally:
        teardown_databases(old, verbosity=0)

    ratio = import_seconds / copy_seconds
    today = datetime.datetime.now(tz=datetime.UTC).date()
    rate = args.rows / import_seconds
    line = (
        f"| {today} | {args.rows:,} | {size_mb:.1f} MB | {copy_seconds:.2f} s | "
        f"{import_seconds:.2f} s | {rate:,.0f} | {ratio:.1f}x | {peak / 1e6:.0f} MB (+{grown / 1e6:.0f} MB) |"
    )
    print(
        f"plain COPY: {copy_seconds:.2f} s; import end to end: {import_seconds:.2f} s "
        f"({rate:,.0f} rows/s); ratio {ratio:.1f}x; "
        f"peak RSS {peak / 1e6:.0f} MB (+{grown / 1e6:.0f} MB during the import)"
    )
    results = ROOT / "bench" / "results.md"
    if not results.exists():
        results.write_text(
            "# Benchmark results\n\n## Ingest (FOCUS, end to end vs plain COPY)\n\n"
            "| date | rows | file | plain COPY | import | rows/s | ratio | peak RSS (growth in import) |\n"
            "|---|---|---|---|---|---|---|---|\n"
        )
    with results.open("a") as handle:
        handle.write(line + "\n")


if __name__ == "__main__":
    main()
