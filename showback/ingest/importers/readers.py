"""Reading a source file as a stream of records: CSV row by row, JSON documents, sniffing heads."""

import codecs
import contextlib
import csv
import gzip
import io
import itertools
import re
import zlib
from collections.abc import Iterable, Iterator
from typing import BinaryIO

import ijson

from .base import ImportFileError, RowError
from .common import (
    GZIP_MAGIC,
    NULL_TEXTS,
    ZIP_MAGIC,
    ColumnError,
    guard_lines,
    import_limits,
    megabytes,
    open_maybe_gzip,
    parse_period,
    peek,
    row_error,
    strip_bom,
)


def open_text(stream: BinaryIO) -> io.TextIOWrapper:
    """A UTF-8 text view (byte-order mark dropped) of a plain or gzipped binary stream, refusing a
    line longer than IMPORT_MAX_LINE_KB."""
    stream = guard_lines(open_maybe_gzip(stream))
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
        # A quoted value may run over several lines: its length has the line's limit too.
        csv.field_size_limit(import_limits().max_line)
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
    if "field larger than field limit" in str(exc):
        return ImportFileError(
            f"Line {line} holds a value longer than {megabytes(import_limits().max_line)}, the limit "
            "(IMPORT_MAX_LINE_KB): is a quote left open? Export the file again."
        )
    return ImportFileError(f"Line {line} cannot be read as CSV: {exc}.")


# A \uD800-\uDFFF escape (its backslash the last of an odd run, so not itself escaped), with the
# low half that pairs with it when it is a high half.
_SURROGATE_ESCAPE = re.compile(
    rb"(?<!\\)(?:\\\\)*(\\u[dD][89abAB][0-9a-fA-F]{2}(?:\\u[dD][c-fC-F][0-9a-fA-F]{2})?"
    rb"|\\u[dD][c-fC-F][0-9a-fA-F]{2})"
)
_PAIR = len(rb"\ud83d\ude00")
# What a lone half becomes on its way to the parser: ijson's C backend would read it as "?" (a high
# half) or fail with no record number (a low half). A NUL is kept by the parser, and PostgreSQL
# cannot store one, so a record holding it is refused whatever it means.
LONE_SURROGATE_MARK = "\x00"


class _SurrogateEscapes:
    """Finds the escapes of half a surrogate pair in JSON bytes read chunk by chunk, and rewrites
    each to the escape of LONE_SURROGATE_MARK (as long), so that the record holding it is refused
    by number instead of stored altered. A pair split across two reads is judged whole."""

    def __init__(self):
        self._carry = b""
        self.found = 0

    def feed(self, data: bytes, final: bool) -> bytes:
        """The bytes to hand the parser now; the last few wait for the next read when an escape
        (or the run of backslashes before it) may go on into it."""
        buffer = self._carry + data
        if b"\\u" not in buffer:
            keep = 0 if final else _tail(buffer, len(buffer))
        else:
            judged = len(buffer) if final else len(buffer) - _PAIR
            lone, after = [], 0
            for match in _SURROGATE_ESCAPE.finditer(buffer):
                if match.start(1) >= judged:
                    break
                after = match.end()
                if len(match.group(1)) == 6:
                    lone.append(match.start(1))
            if lone:
                self.found += len(lone)
                buffer = bytearray(buffer)
                for start in lone:
                    buffer[start : start + 6] = b"\\u0000"
                buffer = bytes(buffer)
            keep = 0 if final else _tail(buffer, max(judged, after))
        cut = len(buffer) - keep
        self._carry = buffer[cut:]
        return buffer[:cut]


def _holds_mark(value) -> bool:
    if isinstance(value, str):
        return LONE_SURROGATE_MARK in value
    if isinstance(value, dict):
        return any(_holds_mark(key) or _holds_mark(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_mark(item) for item in value)
    return False


def _lone_surrogate_message(noun: str, number: int) -> str:
    return (
        f"{noun} {number} holds half of a surrogate pair (a \\uD800 to \\uDFFF escape with no "
        "partner), which is not text and cannot be stored as written: export the file again as UTF-8"
    )


def _tail(buffer: bytes, start: int) -> int:
    """How many bytes at the end of `buffer` to keep for the next read: from `start` (where the
    escapes not judged yet begin), moved back to the start of the run of backslashes it is in, so
    that the next read sees whether its first backslash escapes the next."""
    start = max(start, 0)
    while start > 0 and buffer[start - 1] == 0x5C:
        start -= 1
    return len(buffer) - start


class _JsonBytes(io.RawIOBase):
    """The JSON file's bytes for the streaming parser: checked as UTF-8 (the byte-order mark
    dropped) and counted, so that one record longer than the limit is refused while it streams,
    before the parser has built it whole; an escaped half of a surrogate pair is marked (see
    _SurrogateEscapes)."""

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._limit = import_limits().max_line
        self._first = True
        self._surrogates = _SurrogateEscapes()
        self._pending = b""
        self.count, self.mark, self.record = 0, 0, 0

    @property
    def lone_surrogates(self) -> int:
        return self._surrogates.found

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            data = self._read(len(buffer))
            self._pending = self._surrogates.feed(data, final=not data)
            if not data:
                break
        size = min(len(buffer), len(self._pending))
        buffer[:size], self._pending = self._pending[:size], self._pending[size:]
        return size

    def _read(self, size: int) -> bytes:
        data = self._stream.read(size)
        if self._first and data:
            self._first = False
            if data.startswith(codecs.BOM_UTF8):
                data = data[len(codecs.BOM_UTF8) :]
        try:
            self._decoder.decode(data, final=not data)
        except UnicodeDecodeError:
            raise ImportFileError("The file is not UTF-8 text: is this a binary file?") from None
        self.count += len(data)
        if self.count - self.mark > self._limit + JSON_BUFFER:
            where = f"Record {self.record}" if self.record else "The JSON before the first record"
            raise ImportFileError(
                f"{where} is longer than {megabytes(self._limit)}, the limit (IMPORT_MAX_LINE_KB): "
                "export the records one per object, as the API returns them."
            )
        return data

    def read(self, size=-1) -> bytes:
        buffer = bytearray(JSON_BUFFER if size is None or size < 0 else size)
        count = self.readinto(buffer)
        return bytes(buffer[:count])

    def start_record(self, number: int) -> None:
        self.record, self.mark = number, self.count


JSON_BUFFER = 64 * 1024


def json_events(stream: BinaryIO):
    """(guard, events): ijson's (prefix, event, value) events of the file, its numbers with a point
    as Decimal (never float: money), read as a stream; a broken file is an ImportFileError."""
    guard = _JsonBytes(open_maybe_gzip(stream))

    def events():
        try:
            yield from ijson.parse(guard, buf_size=JSON_BUFFER)
        except ijson.JSONError as exc:
            if guard.count == 0:
                raise ImportFileError("The file is empty.") from None
            reason = str(exc).split("\n", 1)[0]
            raise ImportFileError(f"The file is not valid JSON: {reason}.") from None
        except UnicodeDecodeError:
            raise ImportFileError(
                "The file holds text that is not valid Unicode (half of a surrogate pair): "
                "export it again as UTF-8 text."
            ) from None

    return guard, events()


def _build(events, prefix: str, first):
    """The object or array at `prefix` whose first event is `first`, built from the events."""
    builder = ijson.ObjectBuilder()
    builder.event(first[1], first[2])
    depth = 1
    for _prefix, event, value in events:
        builder.event(event, value)
        if event in ("start_map", "start_array"):
            depth += 1
        elif event in ("end_map", "end_array"):
            depth -= 1
            if depth == 0:
                return builder.value
    raise ImportFileError("The file is not valid JSON: it ends inside a record.")


def _value(events, prefix, first):
    if first[1] in ("start_map", "start_array"):
        return _build(events, prefix, first)
    return first[2]


def bucket_results(stream: BinaryIO, start_key: str, end_key: str) -> Iterator[tuple | RowError]:
    """(record number, start, end, result) for every result of every bucket of a usage or cost
    report: a page, a list of pages, or a bare list of buckets, streamed result by result."""
    guard, events = json_events(stream)
    record = 0
    for bucket, results in _buckets(events, guard, (start_key, end_key)):
        for result in results:
            record += 1
            if not isinstance(result, dict):
                yield RowError(record, "", f"result {record} is not a JSON object")
                continue
            if guard.lone_surrogates and _holds_mark(result):
                yield RowError(record, "", _lone_surrogate_message("result", record))
                continue
            try:
                start, end = parse_period(bucket.get(start_key), bucket.get(end_key), start_key, end_key)
            except ColumnError as exc:
                yield row_error(record, exc)
                continue
            yield record, start, end, result


MAX_RESULTS_BEFORE_TIMES = 10_000


def _buckets(events, guard, time_keys):
    """(bucket's other fields, its results) per bucket. A bucket's results stream when its times
    come first, as the APIs write them; otherwise they wait for the end of the bucket."""
    _, event, _ = next(events)
    if event == "start_array":
        for _, first in _array_items(events, "", "item"):
            if first[1] != "start_map":
                raise ImportFileError('Expected a page object with a "data" list of buckets.')
            yield from _object(events, "item", guard, time_keys, page=True)
    elif event == "start_map":
        yield from _object(events, "", guard, time_keys, page=True)
    else:
        raise ImportFileError('Expected a page object with a "data" list of buckets.')


def _object(events, prefix, guard, time_keys, *, page):
    """The buckets of the object at `prefix`: a page's (its "data" list), or itself as a bucket."""
    fields, waiting, streamed, is_page, key = {}, [], False, False, None
    for event_prefix, event, value in events:
        if event_prefix == prefix and event == "end_map":
            break
        if event_prefix == prefix and event == "map_key":
            key = value
            continue
        child = f"{prefix}.{key}" if prefix else key
        if page and key == "data" and event == "start_array":
            is_page = True
            for _, first in _array_items(events, child, f"{child}.item"):
                if first[1] != "start_map":
                    raise ImportFileError('Each bucket must be an object with a "results" list.')
                yield from _object(events, f"{child}.item", guard, time_keys, page=False)
        elif key == "results":
            if event != "start_array":
                raise ImportFileError('Each bucket must be an object with a "results" list.')
            results = _results(events, child, guard)
            if all(name in fields for name in time_keys):
                streamed = True
                yield fields, results
            else:
                for result in results:
                    waiting.append(result)
                    if len(waiting) > MAX_RESULTS_BEFORE_TIMES:
                        raise ImportFileError(
                            f"A bucket lists more than {MAX_RESULTS_BEFORE_TIMES:,} results before its "
                            f"{time_keys[0]}: export it as the API returns it, times first."
                        )
        else:
            fields[key] = _value(events, child, (event_prefix, event, value))
    if is_page or streamed:
        return
    if page and time_keys[0] not in fields and not waiting:
        raise ImportFileError('Expected a page object with a "data" list of buckets.')
    yield fields, waiting


def _array_items(events, array_prefix, item_prefix):
    """The first event of each item of the array being read, until it ends; the caller reads the
    rest of each item before asking for the next."""
    for event_prefix, event, value in events:
        if event == "end_array" and event_prefix == array_prefix:
            return
        yield item_prefix, (event_prefix, event, value)


def _results(events, array_prefix, guard):
    for _, first in _array_items(events, array_prefix, f"{array_prefix}.item"):
        guard.start_record(guard.record + 1)
        yield _value(events, f"{array_prefix}.item", first)


class RecordReader:
    """Records of a CSV file or of a JSON export (a list of objects, or {"data": [...]}), both streamed.

    `columns` is the CSV header, or the keys of the first JSON record. Iterating gives (line, record)
    or RowError; a JSON record's line is its 1-based position in the list.
    """

    def __init__(self, stream: BinaryIO):
        stream = open_maybe_gzip(stream)
        head, stream = peek(stream, 256)
        self._csv = None
        if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"[", b"{"):
            self._guard, events = json_events(stream)
            self._records = self._json_records(events)
            self._first = next(self._records, None)
            first = self._first[1] if self._first else None
            self.columns = sorted(first) if isinstance(first, dict) else []
        else:
            self._csv = CsvReader(stream)
            self.columns = self._csv.header

    def _json_records(self, events):
        _, event, _ = next(events)
        if event == "start_array":
            prefix = "item"
        elif event == "start_map":
            prefix, key = None, None
            for event_prefix, event, value in events:
                if event_prefix == "" and event == "end_map":
                    break
                if event_prefix == "" and event == "map_key":
                    key = value
                    continue
                if key == "data" and event == "start_array":
                    prefix = "data.item"
                    break
                _value(events, event_prefix, (event_prefix, event, value))
            if prefix is None:
                raise ImportFileError('Expected a JSON list of records, or an object with a "data" list.')
        else:
            raise ImportFileError('Expected a JSON list of records, or an object with a "data" list.')
        items = _array_items(events, prefix.rpartition(".")[0], prefix)
        for line, (_, first) in enumerate(items, start=1):
            self._guard.start_record(line)
            yield line, _value(events, prefix, first)
        for _ in events:  # the rest of the document, checked to be valid JSON
            pass

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
        if self._first is None:
            return
        for line, record in itertools.chain([self._first], self._records):
            if not isinstance(record, dict):
                yield RowError(line, "", f"record {line} is not a JSON object")
            elif self._guard.lone_surrogates and _holds_mark(record):
                yield RowError(line, "", _lone_surrogate_message("record", line))
            else:
                yield line, record

    def close(self) -> None:
        if self._csv is not None:
            self._csv.close()
