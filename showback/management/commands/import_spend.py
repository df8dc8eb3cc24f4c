"""python manage.py import_spend PATH [--format NAME] [--valid-rows]

The same service as the upload page and the API, run in the terminal with its progress shown.
"""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from showback.ingest.importers.registry import IMPORTERS
from showback.ingest.services import spend_import_create, spend_import_run
from showback.models import ImportMode, ImportStatus


class Command(BaseCommand):
    help = "Import a spend file (FOCUS, LiteLLM, OpenAI, Anthropic or generic CSV) into showback."

    def add_arguments(self, parser):
        parser.add_argument("path", help="The file to import (CSV, JSON, or .gz of either).")
        parser.add_argument(
            "--format",
            dest="source_format",
            choices=sorted(IMPORTERS),
            default="",
            help="The format, when it cannot be detected from the file.",
        )
        parser.add_argument(
            "--valid-rows",
            action="store_true",
            help="Import the valid rows and report the rejects, instead of all or nothing.",
        )

    def handle(self, *args, path, source_format, valid_rows, **options):
        file_path = Path(path)
        if not file_path.is_file():
            raise CommandError(f"{path}: no such file.")
        mode = ImportMode.VALID_ROWS if valid_rows else ImportMode.ALL_OR_NOTHING
        with file_path.open("rb") as handle:
            upload = File(handle, name=file_path.name)
            upload.size = file_path.stat().st_size
            try:
                # Queued for a worker too when a broker is configured; running it here first makes
                # the worker's run a no-op (a batch runs once).
                batch = spend_import_create(
                    actor=None, uploaded_file=upload, source_format=source_format, mode=mode
                )
            except ValidationError as exc:
                raise CommandError(
                    "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
                ) from exc

        def show(state):
            self.stdout.write(f"\r  {state['percent']:3d} %  {state['rows_read']:,} rows read", ending="")
            self.stdout.flush()

        batch = spend_import_run(batch_id=batch.pk, on_progress=show)
        batch.refresh_from_db()
        self.stdout.write("")
        for reject in batch.rejects[:10]:
            self.stderr.write(f"  line {reject['line']}, {reject['column']}: {reject['message']}")
        totals = ", ".join(f"{v} {c}" for c, v in batch.totals.items()) or "nothing billed"
        summary = (
            f"{batch.get_status_display()}: {batch.rows_imported:,} rows imported, "
            f"{batch.rows_duplicate:,} already present, {batch.rows_rejected:,} rejected "
            f"({batch.source_format}, import #{batch.pk}, {totals})."
        )
        if batch.status != ImportStatus.SUCCEEDED:
            raise CommandError(f"{summary} {batch.error}")
        self.stdout.write(self.style.SUCCESS(summary))
