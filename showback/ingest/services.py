"""Importing a spend file: the one service behind the upload page, the API and `import_spend`.

`spend_import_create` stores the file, detects its format and queues the import;
`spend_import_run` streams it through the format's importer and writes it in ONE transaction:
a file is imported whole or not at all (unless the user asked for the valid rows only), and a
row already imported (same source and source row key) is counted as a duplicate, never written
twice. Progress goes to the cache, where the status page reads it while the transaction is open.
"""

import datetime
import hashlib
import io
import json
import logging
import threading
import zlib
from decimal import Decimal

import psycopg
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import DatabaseError, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from aifinops.core import periods, permissions
from aifinops.core.audit import audit_record, snapshot
from aifinops.core.models import AuditEvent
from portfolio.models import AIModel, PriceBookEntry, Provider
from portfolio.pricing import usage_cost

from ..attribution.engine import Attributor, Facts
from ..models import PRICED_TOKENS, ImportBatch, ImportMode, ImportStatus, SpendRecord, TokenType
from ..rollups import daily_spend_rebuild
from ..selectors import model_month_volumes
from ..signals import spend_imported
from . import bulk, recost
from .importers.base import ImportFileError, RowError
from .importers.common import open_maybe_gzip
from .importers.registry import IMPORTERS, detect

logger = logging.getLogger(__name__)

CHUNK = 5000
MAX_REJECTS_KEPT = 10_000
HEAD_BYTES = 64 * 1024
GZIP_MAGIC = b"\x1f\x8b"
# How providers name themselves in bills, mapped to the catalog's provider slugs.
PROVIDER_ALIASES = {
    "openai": "openai",
    "anthropic": "anthropic",
    "amazon bedrock": "aws-bedrock",
    "aws bedrock": "aws-bedrock",
    "bedrock": "aws-bedrock",
    "azure openai": "azure-openai",
    "azure ai services": "azure-openai",
    "azure": "azure-openai",
    "vertex ai": "google-vertex",
    "vertex_ai": "google-vertex",
    "google vertex ai": "google-vertex",
    "mistral": "mistral",
}


def progress_key(batch_id):
    return f"spend-import:{batch_id}:progress"


class _CountingReader(io.RawIOBase):
    """Counts the bytes read from the stored file, for a progress figure that needs no row count."""

    def __init__(self, raw):
        self.raw, self.count = raw, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        data = self.raw.read(len(buffer))
        self.count += len(data)
        buffer[: len(data)] = data
        return len(data)


def _head(fileobj):
    """The first bytes of the file, un-gzipped when it is gzip, for format detection."""
    start = fileobj.read(HEAD_BYTES)
    fileobj.seek(0)
    if start[:2] != GZIP_MAGIC:
        return start
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(start, HEAD_BYTES)
    except zlib.error:
        return b""


def upload_too_large(content_length):
    """The refusal of an upload whose announced length is past IMPORT_MAX_MB (with room for the
    form around the file), or "": checked before the body is read, so a huge upload costs nothing."""
    try:
        length = int(content_length or 0)
    except ValueError:
        return ""
    limit = settings.AIFINOPS_IMPORT_MAX_BYTES
    if length <= limit + 64 * 1024:
        return ""
    return (
        f"The upload is {length // (1024 * 1024):,} MB; the limit is {limit // (1024 * 1024):,} MB "
        "(IMPORT_MAX_MB): split the export by month, or compress it with gzip."
    )


@transaction.atomic
def spend_import_create(
    *, actor, uploaded_file, source_format="", mode=ImportMode.ALL_OR_NOTHING, queue=True
):
    """Store an uploaded spend file and queue its import (unless the caller runs it itself, as the
    command does to show progress). Refuses what cannot be a spend file."""
    if actor is not None:
        permissions.require(actor, permissions.IMPORT_SPEND)
    if mode not in ImportMode.values:
        raise ValidationError({"mode": f"“{mode}” is not an import mode."})
    size = getattr(uploaded_file, "size", None) or 0
    if size == 0:
        raise ValidationError({"file": "The file is empty: choose an export with at least one row."})
    if size > settings.AIFINOPS_IMPORT_MAX_BYTES:
        limit = settings.AIFINOPS_IMPORT_MAX_BYTES // (1024 * 1024)
        raise ValidationError({"file": f"The file is {size // (1024 * 1024)} MB; the limit is {limit} MB."})

    digest = hashlib.sha256()
    for chunk in uploaded_file.chunks():
        digest.update(chunk)
    uploaded_file.seek(0)
    head = _head(uploaded_file)
    if b"\x00" in head[:4096]:
        raise ValidationError({"file": "This is a binary file, not a CSV or JSON spend export."})
    if source_format:
        if source_format not in IMPORTERS:
            raise ValidationError({"source_format": f"“{source_format}” is not a format aifinops reads."})
    else:
        source_format = detect(head, uploaded_file.name or "")
        if source_format is None:
            raise ValidationError(
                {"file": "The format could not be recognised from its columns or shape: choose the format."}
            )

    batch = ImportBatch(
        created_by=actor,
        original_name=(uploaded_file.name or "upload")[:255],
        size=size,
        sha256=digest.hexdigest(),
        source_format=source_format,
        mode=mode,
    )
    batch.file.save(batch.original_name, File(uploaded_file), save=False)
    batch.save()
    audit_record(actor=actor, action="spend_import.create", obj=batch, after=snapshot(batch))
    if queue:
        transaction.on_commit(lambda: _dispatch(batch.pk))
    return batch


def _dispatch(batch_id):
    """Hand the import to the worker. The embedded default (`make run`) has no worker and would
    run it inside the upload request; it runs in a thread instead, so the progress bar moves."""
    from .tasks import import_spend

    if getattr(settings, "AIFINOPS_IMPORT_IN_THREAD", False):
        threading.Thread(target=_run_in_thread, args=(batch_id,), daemon=True).start()
    else:
        import_spend.delay(batch_id)


def _run_in_thread(batch_id):
    from django.db import connection

    try:
        spend_import_run(batch_id=batch_id)
    finally:
        connection.close()


def _open_stream(batch):
    raw = batch.file.open("rb")
    counter = _CountingReader(raw)
    buffered = io.BufferedReader(counter, buffer_size=1024 * 1024)
    return open_maybe_gzip(buffered), counter


class _Resolver:
    """Turns names in a file into catalog rows, caching each answer for the whole import."""

    def __init__(self):
        self.providers = {}
        for p in Provider.objects.all():
            self.providers[p.slug] = p
            self.providers[p.name.lower()] = p
        self.models = {}
        for m in AIModel.objects.select_related("provider"):
            self.models.setdefault(m.key.lower(), m)
            self.models[m.ref.lower()] = m
        self.prices = {}
        for price in PriceBookEntry.objects.all():
            self.prices.setdefault(price.model_id, []).append(price)
        self.tiered = {m for m, rows in self.prices.items() if any(p.volume_threshold for p in rows)}
        # {(model id, month): volume}: the ledger's month volume of each model with volume tiers
        # when the import started, read once per month, plus the tokens of the rows read since.
        self.volumes = {}
        self._months_read = set()
        self.attributor = Attributor()

    def volume_add(self, model, day, tokens):
        """The month volume of the model once this row's tokens are in (0 for a model without
        volume tiers: its price does not depend on it)."""
        if model.pk not in self.tiered:
            return 0
        month = periods.month_start(day)
        if month not in self._months_read:
            self._months_read.add(month)
            for key, volume in model_month_volumes(model_ids=self.tiered, months={month}).items():
                self.volumes[key] = self.volumes.get(key, 0) + volume
        key = (model.pk, month)
        self.volumes[key] = self.volumes.get(key, 0) + tokens
        return self.volumes[key]

    def provider(self, name, service):
        for text in (service, name):
            key = (text or "").strip().lower()
            if key in self.providers:
                return self.providers[key]
            slug = PROVIDER_ALIASES.get(key)
            if slug in self.providers:
                return self.providers[slug]
        return None

    def model(self, name, provider):
        key = (name or "").strip().lower()
        if not key:
            return None
        if provider is not None and f"{provider.slug}/{key}" in self.models:
            return self.models[f"{provider.slug}/{key}"]
        return self.models.get(key) or self.models.get(key.split("/")[-1])


def _tokens(row):
    """(uncached input, cache read, cache write, output) in single tokens, from the row's token
    type or, for one-row-per-request sources, from its extras."""
    extras = row.raw_extras or {}
    if row.token_type:
        q = int(row.quantity or 0)
        return {
            TokenType.INPUT: (q, 0, 0, 0),
            TokenType.CACHED_INPUT: (0, q, 0, 0),
            TokenType.CACHE_WRITE: (0, 0, q, 0),
            TokenType.OUTPUT: (0, 0, 0, q),
            TokenType.REASONING: (0, 0, 0, q),
        }.get(row.token_type, (0, 0, 0, 0))
    return (
        int(extras.get("input_tokens") or 0),
        int(extras.get("cached_tokens") or 0),
        int(extras.get("cache_creation_tokens") or 0),
        int(extras.get("output_tokens") or 0),
    )


def _estimate(model, tokens, *, day, monthly_volume, resolver):
    """The cost of a usage-only row at the price book's price in force on its day (standard tier),
    at the volume tier its month reaches with the rows read so far, this one included. The rows
    read before the month crossed a tier are re-costed when the import ends (`_volume_tiers`)."""
    uncached, cache_read, cache_write, output = tokens
    return usage_cost(
        model,
        on_date=day,
        input_tokens=uncached,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        output_tokens=output,
        monthly_volume=monthly_volume,
        prices=resolver.prices.get(model.pk, []),
    ).amount


def _record(row, batch, resolver):
    provider = resolver.provider(row.provider_name, row.service_name)
    model = resolver.model(row.model_name, provider)
    found = resolver.attributor.attribute(Facts.of(row))
    tokens = _tokens(row)
    billed, effective, listed = row.billed_cost, row.effective_cost, row.list_cost
    estimated = row.is_estimated
    extras = dict(row.raw_extras or {})
    day = row.charge_period_start.astimezone(datetime.UTC).date()
    # Every row's tokens count in its month's volume, billed or not.
    volume = resolver.volume_add(model, day, sum(tokens)) if model else 0
    if billed is None and effective is None and listed is None:
        # Usage only: costed from the price book, and flagged as an estimate.
        cost = (
            _estimate(model, tokens, day=day, monthly_volume=volume, resolver=resolver).quantize(
                Decimal("0.0000000001")
            )
            if model
            else Decimal("0")
        )
        if model is None:
            extras["uncosted"] = "model not in the catalog"
        else:
            # The tokens as costed (the record merges cache reads and writes), for re-costing.
            extras[PRICED_TOKENS] = list(tokens)
        billed, effective, listed, estimated = Decimal("0"), cost, cost, True
    effective = effective if effective is not None else (billed or Decimal("0"))
    return SpendRecord(
        source=batch.source_format,
        source_row_key=row.source_row_key[:200],
        charge_period_start=row.charge_period_start,
        charge_period_end=row.charge_period_end,
        provider=provider,
        provider_name=row.provider_name[:100],
        service_name=row.service_name[:150],
        service_category=row.service_category[:100],
        model=model,
        model_name=row.model_name[:150],
        token_type=row.token_type,
        quantity=row.quantity or 0,
        unit=row.unit[:32],
        billed_cost=billed or Decimal("0"),
        effective_cost=effective,
        list_cost=listed if listed is not None else effective,
        currency=row.currency,
        is_estimated=estimated,
        is_ai=row.is_ai or found.use_case is not None,
        billing_account=row.billing_account[:150],
        sub_account=row.sub_account[:150],
        api_key=row.api_key[:150],
        user_label=row.user_label[:150],
        tags=row.tags or {},
        **found.record_fields(),
        raw_extras=extras,
        input_tokens=tokens[0],
        cached_tokens=tokens[1] + tokens[2],
        output_tokens=tokens[3],
        requests=row.requests or 0,
        import_batch=batch,
    )


_TEXT_FIELDS = (
    "source_row_key",
    "provider_name",
    "service_name",
    "service_category",
    "model_name",
    "unit",
    "currency",
    "billing_account",
    "sub_account",
    "api_key",
    "user_label",
    "environment",
)


def _texts(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _texts(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _texts(item)


def _unstorable(row):
    """A RowError when the row holds text PostgreSQL cannot store: a NUL character, or half of a
    surrogate pair (a JSON \\u escape); None otherwise. Caught here, the row is rejected by line
    instead of failing the COPY of its whole chunk."""
    for name in (*_TEXT_FIELDS, "tags", "raw_extras"):
        for value in _texts(getattr(row, name)):
            if value.isascii() and "\x00" not in value:
                continue
            if "\x00" in value:
                problem = "a NUL character"
            else:
                try:
                    value.encode("utf-8")
                    continue
                except UnicodeEncodeError:
                    problem = "text that is not valid Unicode"
            return RowError(
                row.line, "", f"holds {problem}, which cannot be stored: export the file again as UTF-8 text"
            )
    return None


class _Rejected(Exception):
    """Raised inside the import's transaction to roll it back when a whole-file import has rejects."""


def _insert(records):
    """Write new records. On PostgreSQL through COPY, several times faster than INSERT; the
    duplicate check has already run, and a concurrent import of the same rows fails on the
    unique constraint and leaves nothing behind."""
    if not records:
        return
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        SpendRecord.objects.bulk_create(records, batch_size=CHUNK)
        return
    fields = [f for f in SpendRecord._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(SpendRecord._meta.db_table)
    json_fields = {f.attname for f in fields if f.get_internal_type() == "JSONField"}
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for record in records:
            copy.write_row(
                [
                    json.dumps(getattr(record, f.attname))
                    if f.attname in json_fields
                    else getattr(record, f.attname)
                    for f in fields
                ]
            )


def _write(records, batch, seen, stats):
    keys = [r.source_row_key for r in records]
    existing = set(
        SpendRecord.objects.filter(source=batch.source_format, source_row_key__in=keys).values_list(
            "source_row_key", flat=True
        )
    )
    fresh = []
    for record in records:
        if record.source_row_key in existing or record.source_row_key in seen:
            stats["duplicate"] += 1
            continue
        seen.add(record.source_row_key)
        fresh.append(record)
    _insert(fresh)
    stats["imported"] += len(fresh)
    for record in fresh:
        day = record.charge_period_start.date()
        stats["first"] = min(stats["first"] or day, day)
        stats["last"] = max(stats["last"] or day, day)
        totals = stats["totals"]
        totals[record.currency] = totals.get(record.currency, Decimal("0")) + record.billed_cost


class _Cancelled(Exception):
    """Raised inside the import's transaction when the import was cancelled (or failed by the
    sweeper) while it ran: everything it wrote is rolled back, and its status left as it is."""


class _Heartbeat(threading.Thread):
    """Says, every few seconds and on its own database connection (the import's transaction is not
    committed yet), that the import's process is alive; notices when the import was cancelled."""

    def __init__(self, batch_id):
        super().__init__(name=f"import-{batch_id}-heartbeat", daemon=True)
        self.batch_id, self.cancelled = batch_id, False
        self._stop_event = threading.Event()

    def run(self):
        from django.db import connection

        interval = settings.AIFINOPS_IMPORT_HEARTBEAT_SECONDS
        try:
            while not self._stop_event.wait(interval):
                try:
                    ImportBatch.objects.filter(pk=self.batch_id, status=ImportStatus.RUNNING).update(
                        heartbeat_at=timezone.now()
                    )
                    status = ImportBatch.objects.filter(pk=self.batch_id).values_list("status", flat=True)
                    if status.first() in (ImportStatus.CANCELLED, ImportStatus.FAILED):
                        self.cancelled = True
                except DatabaseError:
                    logger.warning("Import %s: the heartbeat could not be written", self.batch_id)
                    connection.close()
        finally:
            connection.close()

    def stop(self):
        self._stop_event.set()
        self.join(timeout=30)


def spend_import_run(*, batch_id, on_progress=None):
    """Import a queued batch. Safe to run twice: a batch that is no longer queued is left as it is.

    Every run ends: succeeded, failed with a reason a person can act on (a bad file, the database
    lost, an error of ours), or cancelled; a run whose process dies is failed by the sweeper."""
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().get(pk=batch_id)
        if batch.status != ImportStatus.QUEUED:
            return batch
        batch.status, batch.started_at = ImportStatus.RUNNING, timezone.now()
        batch.heartbeat_at = batch.started_at
        batch.save(update_fields=["status", "started_at", "heartbeat_at"])

    heartbeat = _Heartbeat(batch.pk)
    heartbeat.start()
    try:
        return _run(batch, heartbeat, on_progress)
    finally:
        heartbeat.stop()


def _run(batch, heartbeat, on_progress):
    stats = {"read": 0, "imported": 0, "duplicate": 0, "first": None, "last": None, "totals": {}}
    stats["heartbeat"] = heartbeat
    rejects, error = [], ""
    try:
        with transaction.atomic():
            resolver = _Resolver()
            if not _import_bulk(batch, resolver, stats, on_progress):
                _import_rows(batch, resolver, stats, rejects, on_progress)
            if rejects and batch.mode == ImportMode.ALL_OR_NOTHING:
                raise _Rejected
            if ImportBatch.objects.select_for_update().get(pk=batch.pk).status != ImportStatus.RUNNING:
                raise _Cancelled
            if stats["first"] is not None:
                daily_spend_rebuild(start=stats["first"], end=stats["last"])
            if stats["imported"]:
                _volume_tiers(batch, resolver)
            _finish(batch, ImportStatus.SUCCEEDED, stats, rejects, "")
            audit_record(
                actor=batch.created_by, action="spend_import.complete", obj=batch, after=snapshot(batch)
            )
            if stats["imported"]:
                transaction.on_commit(_spend_imported)
            return batch
    except _Cancelled:
        cache.delete(progress_key(batch.pk))
        batch.refresh_from_db()
        return batch
    except _Rejected:
        kept = (
            ""
            if stats["rejected"] <= MAX_REJECTS_KEPT
            else f" (reading stopped at the {MAX_REJECTS_KEPT:,}th)"
        )
        error = (
            f"{stats['rejected']:,} row{'s' if stats['rejected'] != 1 else ''} rejected{kept}: nothing was "
            f"imported. Fix {'it' if stats['rejected'] == 1 else 'them'} and upload the file again, or "
            "retry it with the valid rows only (the rejects stay here to download)."
        )
    except ImportFileError as exc:
        error = str(exc)
    except (ValueError, UnicodeDecodeError, OSError, EOFError) as exc:
        error = f"The file could not be read as {IMPORTERS[batch.source_format].label}: {exc}"
    except (DatabaseError, psycopg.Error) as exc:
        logger.warning("Import %s: the database failed: %s", batch.pk, exc)
        error = (
            "The database connection was lost during the import: nothing was imported. Retry it; "
            f"if it fails again, ask your administrator to check the database ({type(exc).__name__})."
        )
        if not transaction.get_connection().in_atomic_block:
            transaction.get_connection().close()
    except Exception as exc:
        _fail(
            batch,
            stats,
            rejects,
            f"The import stopped on an error of ours ({type(exc).__name__}): retry it, "
            "and tell your administrator if it fails again.",
        )
        raise
    _fail(batch, stats, rejects, error)
    return batch


def _fail(batch, stats, rejects, error):
    """Record the failure, unless the import was cancelled (or already failed) meanwhile."""
    with transaction.atomic():
        current = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if current.status != ImportStatus.RUNNING:
            batch.refresh_from_db()
            cache.delete(progress_key(batch.pk))
            return
        stats.update(imported=0, duplicate=0, first=None, last=None, totals={})
        _finish(batch, ImportStatus.FAILED, stats, rejects, error)
        audit_record(actor=batch.created_by, action="spend_import.reject", obj=batch, after=snapshot(batch))


def _volume_tiers(batch, resolver):
    """The import's rows are in: where they carried a month's volume across a tier of a model's
    prices, re-cost that month's estimated usage of the model (the import's own rows costed before
    the crossing, the other imports' and the gateway's), audited. Set-based whatever the file's
    size: one aggregate of the import's rows of models with volume tiers, and one of the months'
    volumes."""
    if not resolver.tiered:
        return
    added = recost.month_tokens(SpendRecord.objects.filter(import_batch=batch, model_id__in=resolver.tiered))
    recost.volume_tiers_settle(
        actor=batch.created_by, changes=added, costed_at=resolver.volumes, cause={"import_batch": batch.pk}
    )


def _spend_imported():
    """New spend may cross a budget's threshold or be an anomaly: the features that check (budgets,
    then analytics; connected in showback.apps) do it now, not at their next scheduled run."""
    spend_imported.send(sender=ImportBatch)


def _import_bulk(batch, resolver, stats, on_progress):
    """FOCUS on PostgreSQL: COPY and set-based SQL (see bulk). False when the file must go
    row by row instead: another format, SQLite, or a file with anything to reject or explain."""
    if batch.source_format != "focus" or transaction.get_connection().vendor != "postgresql":
        return False
    if not getattr(settings, "AIFINOPS_BULK_IMPORT", True):
        return False
    from psycopg import errors

    stream, counter = _open_stream(batch)
    try:
        with transaction.atomic():
            read, written, first, last, totals = bulk.run(
                batch=batch,
                stream=stream,
                resolver=resolver,
                on_bytes=lambda: _report(batch, stats, [], counter, on_progress),
            )
    except (bulk.NotBulk, errors.DataError) as exc:
        logger.info("Import %s goes row by row: %s", batch.pk, exc)
        return False
    finally:
        stream.close()
    stats.update(read=read, imported=written, duplicate=read - written, first=first, last=last)
    stats["totals"] = totals
    return True


def _import_rows(batch, resolver, stats, rejects, on_progress):
    """Any format, any database: each row parsed, attributed and written by Python, in chunks.

    Memory stays bounded whatever the file: a chunk of rows, the keys already written, and the first
    MAX_REJECTS_KEPT rejects. A whole-file import stops writing at its first reject (nothing of it
    will be kept) and stops reading once it has MAX_REJECTS_KEPT of them to show."""
    stream, counter = _open_stream(batch)
    seen, pending = set(), []
    stats["rejected"] = 0
    whole = batch.mode == ImportMode.ALL_OR_NOTHING
    try:
        for result in IMPORTERS[batch.source_format]().parse(stream):
            stats["read"] += 1
            if not isinstance(result, RowError):
                result = _unstorable(result) or result
            if isinstance(result, RowError):
                stats["rejected"] += 1
                if len(rejects) < MAX_REJECTS_KEPT:
                    rejects.append({"line": result.line, "column": result.column, "message": result.message})
                elif whole:
                    break
                if stats["rejected"] % CHUNK == 0:
                    _report(batch, stats, rejects, counter, on_progress)
                continue
            if whole and rejects:
                pending = []
                if stats["read"] % CHUNK == 0:
                    _report(batch, stats, rejects, counter, on_progress)
                continue
            pending.append(_record(result, batch, resolver))
            if len(pending) >= CHUNK:
                _write(pending, batch, seen, stats)
                pending = []
                _report(batch, stats, rejects, counter, on_progress)
        if not (whole and rejects):
            _write(pending, batch, seen, stats)
    finally:
        stream.close()


def _report(batch, stats, rejects, counter, on_progress):
    heartbeat = stats.get("heartbeat")
    if heartbeat is not None and heartbeat.cancelled:
        raise _Cancelled
    done = min(99, int(100 * counter.count / batch.size)) if batch.size else 0
    state = {
        "percent": done,
        "rows_read": stats["read"],
        "rows_rejected": stats.get("rejected", len(rejects)),
    }
    cache.set(progress_key(batch.pk), state, 3600)
    if on_progress:
        on_progress(state)


def _finish(batch, status, stats, rejects, error):
    batch.status = status
    batch.finished_at = timezone.now()
    batch.rows_read = stats["read"]
    batch.rows_imported = stats["imported"]
    batch.rows_duplicate = stats["duplicate"]
    batch.rows_rejected = stats.get("rejected", len(rejects))
    batch.rejects = rejects[:MAX_REJECTS_KEPT]
    batch.error = error
    batch.period_start, batch.period_end = stats["first"], stats["last"]
    # Plain digits without trailing zeros, however the sum was made (Python or SQL numeric(24, 10)).
    batch.totals = {c: format(v.normalize(), "f") for c, v in sorted(stats["totals"].items())}
    batch.save()
    cache.delete(progress_key(batch.pk))


def import_progress(batch):
    """{percent, rows_read, rows_rejected} of a running import; the batch's own figures otherwise."""
    if batch.status == ImportStatus.RUNNING:
        return cache.get(progress_key(batch.pk)) or {"percent": 1, "rows_read": 0, "rows_rejected": 0}
    done = batch.status != ImportStatus.QUEUED
    return {"percent": 100 if done else 0, "rows_read": batch.rows_read, "rows_rejected": batch.rows_rejected}


STATE_FIELDS = ("status", "error", "rows_imported", "rows_rejected", "period_start", "period_end", "totals")


def _locked(batch_id, actor):
    permissions.require(actor, permissions.IMPORT_SPEND)
    return ImportBatch.objects.select_for_update().get(pk=batch_id)


def _refuse(batch, action, allowed):
    names = " or ".join(str(ImportStatus(s).label).lower() for s in allowed)
    state = batch.get_status_display().lower()
    raise ValidationError(
        {"status": f"Import #{batch.pk} is {state}: only a {names} import can be {action}."}
    )


RETRY_MODES = ("as_before", ImportMode.VALID_ROWS.value)


@transaction.atomic
def spend_import_retry(*, batch_id, actor, mode="as_before"):
    """Queue a failed or cancelled import again, from its stored file. Rows already in the ledger
    (same source and row key) count as duplicates, so the retry adds exactly what is missing.

    `mode="valid_rows"` retries a whole-file import that failed on rejected rows as a valid-rows
    import: its good rows go in, and its rejects are found again and kept to download (they stay
    on the import meanwhile)."""
    if mode not in RETRY_MODES:
        raise ValidationError({"mode": f"Choose one of: {', '.join(RETRY_MODES)}."})
    batch = _locked(batch_id, actor)
    if batch.status not in (ImportStatus.FAILED, ImportStatus.CANCELLED):
        _refuse(batch, "retried", (ImportStatus.FAILED, ImportStatus.CANCELLED))
    valid_rows = mode == ImportMode.VALID_ROWS
    if valid_rows and not (batch.status == ImportStatus.FAILED and batch.rows_rejected):
        raise ValidationError({"mode": f"Import #{batch.pk} has no rejected rows: retry it as it was."})
    before = snapshot(batch, (*STATE_FIELDS, "mode"))
    if valid_rows:
        batch.mode = ImportMode.VALID_ROWS
    else:
        batch.rejects = []
    batch.status, batch.error, batch.totals = ImportStatus.QUEUED, "", {}
    batch.started_at = batch.finished_at = None
    batch.heartbeat_at = timezone.now()  # queued since: the sweeper's clock for a lost task
    batch.period_start = batch.period_end = None
    batch.rows_read = batch.rows_imported = batch.rows_duplicate = 0
    if not valid_rows:
        batch.rows_rejected = 0
    batch.save()
    audit_record(
        actor=actor,
        action="spend_import.retry",
        obj=batch,
        before=before,
        after=snapshot(batch, (*STATE_FIELDS, "mode")),
    )
    transaction.on_commit(lambda: _dispatch(batch.pk))
    return batch


@transaction.atomic
def spend_import_cancel(*, batch_id, actor):
    """Cancel a queued or running import. A running one notices within a heartbeat and rolls back
    everything it wrote; it can never end as imported once cancelled."""
    batch = _locked(batch_id, actor)
    if batch.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
        _refuse(batch, "cancelled", (ImportStatus.QUEUED, ImportStatus.RUNNING))
    before = snapshot(batch, STATE_FIELDS)
    batch.status, batch.finished_at = ImportStatus.CANCELLED, timezone.now()
    batch.error = f"Cancelled by {getattr(actor, 'username', 'system')}: nothing was imported."
    batch.save(update_fields=["status", "finished_at", "error"])
    cache.delete(progress_key(batch.pk))
    audit_record(
        actor=actor,
        action="spend_import.cancel",
        obj=batch,
        before=before,
        after=snapshot(batch, STATE_FIELDS),
    )
    return batch


@transaction.atomic
def spend_import_undo(*, batch_id, actor):
    """Take an import loaded by mistake back out: exactly its rows (not the rows it skipped as
    already imported by another), the rollups of its days rebuilt, budgets and anomalies told."""
    batch = _locked(batch_id, actor)
    if batch.status != ImportStatus.SUCCEEDED:
        _refuse(batch, "undone", (ImportStatus.SUCCEEDED,))
    before = snapshot(batch, STATE_FIELDS)
    tiered = recost.tiered_model_ids()
    taken = (
        recost.month_tokens(SpendRecord.objects.filter(import_batch=batch, model_id__in=tiered))
        if tiered
        else {}
    )
    # One DELETE: no other table points at a spend record, so the ORM's per-row collection is not needed.
    removed = SpendRecord.objects.filter(import_batch=batch)._raw_delete(SpendRecord.objects.db)
    if batch.period_start is not None:
        daily_spend_rebuild(start=batch.period_start, end=batch.period_end)
    # Its tokens leave their months' volumes: a month back below a tier is re-costed.
    recost.volume_tiers_settle(
        actor=actor,
        changes={key: -tokens for key, tokens in taken.items()},
        cause={"import_batch": batch.pk, "undone": True},
    )
    batch.status, batch.error = (
        ImportStatus.UNDONE,
        f"Undone by {getattr(actor, 'username', 'system')}: its {removed:,} rows were removed.",
    )
    batch.save(update_fields=["status", "error"])
    audit_record(
        actor=actor,
        action="spend_import.undo",
        obj=batch,
        before=before,
        after=snapshot(batch, STATE_FIELDS) | {"rows_removed": removed},
    )
    transaction.on_commit(_spend_imported)
    return batch


def spend_import_sweep(*, now=None):
    """End the imports that would otherwise wait for ever. Returns the ids failed.

    A running import whose process has given no sign of life for IMPORT_STALE_SECONDS (a killed
    worker, a machine gone) is failed: its transaction died with it, so nothing of it is in the
    ledger, and the person can retry. A queued import that no worker has started for
    IMPORT_QUEUED_SECONDS is handed to the workers again, once (the broker may have lost its task;
    a task that arrives twice runs once); still queued after twice that, it is failed."""
    now = now or timezone.now()
    return _sweep_running(now) + _sweep_queued(now)


def _sweep_running(now):
    stale_seconds = settings.AIFINOPS_IMPORT_STALE_SECONDS
    limit = now - datetime.timedelta(seconds=stale_seconds)
    failed = []
    candidates = ImportBatch.objects.filter(status=ImportStatus.RUNNING, heartbeat_at__lt=limit)
    for batch_id in candidates.values_list("pk", flat=True):
        with transaction.atomic():
            batch = (
                ImportBatch.objects.select_for_update(skip_locked=True)
                .filter(pk=batch_id, status=ImportStatus.RUNNING, heartbeat_at__lt=limit)
                .first()
            )
            if batch is None:
                continue
            before = snapshot(batch, STATE_FIELDS)
            silent = max(1, round((now - batch.heartbeat_at).total_seconds() / 60))
            batch.status, batch.finished_at = ImportStatus.FAILED, now
            batch.error = (
                f"The worker stopped during the import (no sign of life for {silent} minute"
                f"{'s' if silent != 1 else ''}): nothing was imported. Retry it."
            )
            batch.save(update_fields=["status", "finished_at", "error"])
            audit_record(
                actor=None,
                action="spend_import.fail",
                obj=batch,
                before=before,
                after=snapshot(batch, STATE_FIELDS),
            )
        cache.delete(progress_key(batch_id))
        failed.append(batch_id)
    return failed


def _sweep_queued(now):
    wait = settings.AIFINOPS_IMPORT_QUEUED_SECONDS
    limit = now - datetime.timedelta(seconds=wait)
    # A queued import's heartbeat is when it was queued (its creation, or its retry).
    queued = ImportBatch.objects.filter(status=ImportStatus.QUEUED).annotate(
        queued_at=Coalesce("heartbeat_at", "created_at")
    )
    failed = []
    for batch_id in queued.filter(queued_at__lt=limit).values_list("pk", flat=True):
        with transaction.atomic():
            batch = (
                queued.select_for_update(skip_locked=True, of=("self",))
                .filter(pk=batch_id, queued_at__lt=limit)
                .first()
            )
            if batch is None:
                continue
            redispatched = (
                AuditEvent.objects.for_object(batch)
                .filter(action="spend_import.redispatch", created_at__gte=batch.queued_at)
                .exists()
            )
            if not redispatched:
                audit_record(actor=None, action="spend_import.redispatch", obj=batch)
                transaction.on_commit(lambda pk=batch.pk: _dispatch(pk))
                continue
            if batch.queued_at >= limit - datetime.timedelta(seconds=wait):
                continue
            before = snapshot(batch, STATE_FIELDS)
            waited = max(1, round((now - batch.queued_at).total_seconds() / 60))
            batch.status, batch.finished_at = ImportStatus.FAILED, now
            batch.error = (
                f"No worker started this import in {waited} minutes, though it was handed to the "
                "workers twice: nothing was imported. Check that a Celery worker is running (make "
                "worker) and reaches the broker (REDIS_URL), then retry it."
            )
            batch.save(update_fields=["status", "finished_at", "error"])
            audit_record(
                actor=None,
                action="spend_import.fail",
                obj=batch,
                before=before,
                after=snapshot(batch, STATE_FIELDS),
            )
        failed.append(batch_id)
    return failed
