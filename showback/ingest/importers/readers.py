"""Reading a source file as a stream of records: CSV row by row, JSON documents, sniffing heads."""

import contextlib
import csv
import gzip
import io
import json
import zlib
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import BinaryIO

from .base import ImportFileError, RowError
from .common import (
    GZIP_MAGIC,
    NULL_TEXTS,
    ZIP_MAGIC,
    ColumnError,
    open_maybe_gzip,
    parse_period,
    peek,
    row_error,
    strip_bom,
)


def open_text(stream: BinaryIO) -> io.TextIOWrapper:
    """A UTF-8 text view (byte-order mark dropped) of a plain or gzipped binary stream."""
    stream = open_maybe_gzip(stream)
    head, stream = peek(stream, 4)
    if not head:
        raise ImportFileError("The file is empty.")
    if head.startswith(ZIP_MAGIC):
        raise ImportFileError(
            "This is a ZIP or Excel workbook, not CSV or JSON: export it as CSV and upload that."
        )
    return io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")


def head_text(head: bytes) -> str:
    """The sniffing head as text (un-gzipped if needed, BOM dropped, a cut last character tolerated)."""
    if head.startswith(GZIP_MAGIC):
        try:
            head = gzip.decompress(head)
        except (OSError, EOFError, zlib.error):
            try:
                head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head)
            except zlib.error:
                return ""  # damaged gzip: no format recognises it, and the import says why
    return strip_bom(head.decode("utf-8", errors="replace"))


def head_columns(head: bytes) -> list[str]:
    """The CSV header of a sniffing head, or [] when it does not look like CSV text."""
    content = head_text(head)
    if "\x00" in content or content.lstrip().startswith(("{", "[")):
        return []
    first_line = content.splitlines()[0] if content else ""
    try:
        return [strip_bom(name).strip() for name in next(csv.reader([first_line]), [])]
    except csv.Error:
        return []


class CsvReader:
    """A streaming CSV reader: `header`, then (line, {column: trimmed value}) or RowError per record.

    Null spellings ("NULL", "None", "N/A"…) become "". `line` is the record's first physical line,
    the header being line 1. `raw_values` holds the current record's values as they stand in the file.
    """

    def __init__(self, stream: BinaryIO):
        self._text = open_text(stream)
        self._reader = csv.reader(self._text)
        try:
            header = next(self._reader, None)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise _unreadable(exc, 1) from None
        if not header or not any(name.strip() for name in header):
            raise ImportFileError("The file is empty: it has no header line.")
        self.header = [strip_bom(name).strip() for name in header]
        self.raw_values = []
        seen = set()
        for name in self.header:
            if name in seen and name:
                raise ImportFileError(f"The column {name!r} appears twice in the header.")
            seen.add(name)

    def require(self, *columns: str, any_of: Iterable[str] = ()) -> None:
        missing = [name for name in columns if name not in self.header]
        if missing:
            raise ImportFileError(
                f"Missing mandatory column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}."
            )
        options = list(any_of)
        if options and not any(name in self.header for name in options):
            raise ImportFileError(f"Missing mandatory column: one of {', '.join(options)}.")

    def __iter__(self) -> Iterator[tuple[int, dict[str, str]] | RowError]:
        header, width = self.header, len(self.header)
        previous = self._reader.line_num
        try:
            for values in self._reader:
                line = previous + 1
                previous = self._reader.line_num
                if not values or (len(values) == 1 and not values[0].strip()):
                    continue
                if len(values) > width and any(value.strip() for value in values[width:]):
                    yield RowError(line, "", f"has {len(values)} values but the header has {width} columns")
                    continue
                self.raw_values = values
                row = {}
                for name, value in zip(header, values, strict=False):
                    value = value.strip()
                    row[name] = "" if value.casefold() in NULL_TEXTS else value
                yield line, row
        except (UnicodeDecodeError, csv.Error) as exc:
            raise _unreadable(exc, previous + 1) from None

    def close(self) -> None:
        with contextlib.suppress(ValueError):
            self._text.detach()  # leave the caller's stream open


def _unreadable(exc: Exception, line: int) -> ImportFileError:
    if isinstance(exc, UnicodeDecodeError):
        return ImportFileError(
            f"Line {line} is not UTF-8 text: is this a binary file? Export it as CSV (UTF-8)."
        )
    return ImportFileError(f"Line {line} cannot be read as CSV: {exc}.")


def load_json(stream: BinaryIO):
    """The parsed JSON document, numbers with a point as Decimal (never float: money)."""
    handle = open_text(stream)
    try:
        return json.load(handle, parse_float=Decimal)
    except UnicodeDecodeError:
        raise ImportFileError("The file is not UTF-8 text: is this a binary file?") from None
    except json.JSONDecodeError as exc:
        raise ImportFileError(
            f"The file is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from None
    finally:
        with contextlib.suppress(ValueError):
            handle.detach()


def bucket_results(stream: BinaryIO, start_key: str, end_key: str) -> Iterator[tuple | RowError]:
    """(record number, start, end, result) for every result of every bucket of a usage or cost report."""
    for record, bucket, result in json_buckets(load_json(stream), time_keys=(start_key, end_key)):
        if not isinstance(result, dict):
            yield RowError(record, "", f"result {record} is not a JSON object")
            continue
        try:
            start, end = parse_period(bucket.get(start_key), bucket.get(end_key), start_key, end_key)
        except ColumnError as exc:
            yield row_error(record, exc)
            continue
        yield record, start, end, result


def json_buckets(document, *, time_keys: tuple[str, str]) -> Iterator[tuple[int, dict, dict]]:
    """(record number, bucket, result) for a page, a list of pages, or a bare list of buckets."""
    pages = document if isinstance(document, list) else [document]
    buckets = []
    for page in pages:
        if isinstance(page, dict) and isinstance(page.get("data"), list):
            buckets.extend(page["data"])
        elif isinstance(page, dict) and time_keys[0] in page:
            buckets.append(page)
        else:
            raise ImportFileError('Expected a page object with a "data" list of buckets.')
    record = 0
    for bucket in buckets:
        if not isinstance(bucket, dict) or not isinstance(bucket.get("results", []), list):
            raise ImportFileError('Each bucket must be an object with a "results" list.')
        for result in bucket.get("results") or []:
            record += 1
            yield record, bucket, result


class RecordReader:
    """Records of a CSV file or of a JSON export (a list of objects, or {"data": [...]}), streaming CSV.

    `columns` is the CSV header, or every key the JSON records use. Iterating gives (line, record) or
    RowError; a JSON record's line is its 1-based position in the list.
    """

    def __init__(self, stream: BinaryIO):
        stream = open_maybe_gzip(stream)
        head, stream = peek(stream, 256)
        self._csv = None
        if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"[", b"{"):
            document = load_json(stream)
            if isinstance(document, dict) and isinstance(document.get("data"), list):
                document = document["data"]
            if not isinstance(document, list):
                raise ImportFileError('Expected a JSON list of records, or an object with a "data" list.')
            self._records = document
            self.columns = sorted({key for record in document if isinstance(record, dict) for key in record})
        else:
            self._csv = CsvReader(stream)
            self.columns = self._csv.header

    def require(self, *columns: str) -> None:
        missing = [name for name in columns if name not in self.columns]
        if missing:
            raise ImportFileError(
                f"Missing mandatory column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}."
            )

    def __iter__(self) -> Iterator[tuple[int, dict] | RowError]:
        if self._csv is not None:
            yield from self._csv
            return
        for line, record in enumerate(self._records, start=1):
            if isinstance(record, dict):
                yield line, record
            else:
                yield RowError(line, "", f"record {line} is not a JSON object")

    def close(self) -> None:
        if self._csv is not None:
            self._csv.close()
