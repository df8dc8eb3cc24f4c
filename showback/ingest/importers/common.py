"""Helpers shared by the importers: text and number parsing, time, currency, tags, CSV and JSON reading.

Every parser raises `ValueError` with a message a person can act on; the importers turn it into a
`RowError` naming the line and the column.
"""

import datetime
import gzip
import hashlib
import io
import json
import re
import zlib
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import BinaryIO

from aifinops.core import periods

from ...currencies import ISO_4217
from .base import ImportFileError, RowError

NULL_TEXTS = frozenset({"", "null", "none", "na", "n/a"})
MAX_MONEY = Decimal("1e12")  # showback.models MONEY: 18 digits, 6 after the point
# SpendRecord.quantity has 18 digits before the point: a limit one digit lower leaves room for
# rounding to its 6 decimals. A row's token counts, summed into its quantity, stay far below it.
MAX_QUANTITY = Decimal("1e17")
MAX_COUNT = Decimal("1e15")
MAX_REQUESTS = Decimal(2**31)  # SpendRecord.requests is a PositiveIntegerField
MIN_YEAR, MAX_YEAR = periods.FIRST_YEAR, periods.LAST_YEAR + 1  # MAX_YEAR is the first year refused
GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
# The expansion ratio is judged once this much is out: a small file's header can expand a lot, but a
# real bill past 4 MB expands 10 to 50 times; a bomb is refused after parsing no more than this.
RATIO_FLOOR = 4 * 1024 * 1024
# Compressed bytes read from the file at a time. The ratio counts only the bytes the decompressor has
# consumed, so this size does not loosen it.
GZIP_READ_BLOCK = 16 * 1024


@dataclass(frozen=True)
class ImportLimits:
    max_decompressed: int
    max_ratio: int
    max_line: int


def import_limits() -> ImportLimits:
    """The intake limits of aifinops.settings (IMPORT_MAX_DECOMPRESSED_MB, IMPORT_MAX_RATIO,
    IMPORT_MAX_LINE_KB), read at each import so that a test or an operator can change them."""
    from django.conf import settings

    return ImportLimits(
        max_decompressed=getattr(settings, "AIFINOPS_IMPORT_MAX_DECOMPRESSED_BYTES", 20 * 1024**3),
        max_ratio=getattr(settings, "AIFINOPS_IMPORT_MAX_RATIO", 200),
        max_line=getattr(settings, "AIFINOPS_IMPORT_MAX_LINE_BYTES", 4 * 1024**2),
    )


def megabytes(size: int) -> str:
    """ "4 MB", "512 KB", "20 GB": a limit as a person reads it."""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:,.4g} {unit}"
    return f"{size} bytes"


_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")
_CURRENCY_SIGNS = "$€£¥"


def is_null(value) -> bool:
    return value is None or (isinstance(value, str) and value.strip().casefold() in NULL_TEXTS)


def text(value) -> str:
    """A trimmed string, "" for the null spellings real exports use."""
    if is_null(value):
        return ""
    return str(value).strip()


def strip_bom(value: str) -> str:
    return value.lstrip("\ufeff")


def parse_decimal(value, *, maximum: Decimal = MAX_QUANTITY) -> Decimal | None:
    """A Decimal from "1.5", "-0.25", "1e-6", "1,234.50", "$10,000.00 " or "(12.00)"; None when empty.

    The decimal separator is always a dot: a comma is accepted only as a thousands separator.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    else:
        if is_null(value):
            return None
        raw = str(value).strip()
        body = raw
        negative = body.startswith("(") and body.endswith(")")
        if negative:
            body = body[1:-1].strip()
        if body[:1] in "+-" and body[1:2] in _CURRENCY_SIGNS:
            body = body[0] + body[2:]
        body = body.lstrip(_CURRENCY_SIGNS).strip()
        if _GROUPED.fullmatch(body):
            body = body.replace(",", "")
        if not _NUMBER.fullmatch(body):
            hint = " (use a dot as the decimal separator)" if "," in body else ""
            raise ValueError(f"{raw!r} is not a number{hint}")
        number = Decimal(body)
        if negative:
            number = -number
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    if abs(number) >= maximum:
        raise ValueError(f"{value!r} is out of range (must be below {maximum:,.0f})")
    return number


def parse_money(value) -> Decimal | None:
    return parse_decimal(value, maximum=MAX_MONEY)


def parse_count(value, *, maximum: Decimal = MAX_COUNT) -> int:
    """A non-negative whole number (tokens); 0 when empty."""
    number = parse_decimal(value, maximum=maximum)
    if number is None:
        return 0
    if number < 0 or number != number.to_integral_value():
        raise ValueError(f"{value!r} is not a whole number of zero or more")
    return int(number)


def parse_requests(value) -> int:
    """A number of requests; 0 when empty."""
    return parse_count(value, maximum=MAX_REQUESTS)


_US_DATE = re.compile(
    r"(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*([AaPp][Mm])?)?"
)
_FRACTION = re.compile(r"(\.\d{6})\d+")
_EPOCH = re.compile(r"\d{9,13}(?:\.\d+)?")


def _in_range(moment: datetime.datetime, raw) -> datetime.datetime:
    if not MIN_YEAR <= moment.year < MAX_YEAR:
        raise ValueError(f"{raw!r} is out of range (years {MIN_YEAR} to {MAX_YEAR - 1})")
    return moment


def _from_epoch(seconds: Decimal, raw) -> datetime.datetime:
    if seconds >= Decimal("1e11"):  # milliseconds
        seconds /= 1000
    try:
        moment = datetime.datetime.fromtimestamp(float(seconds), tz=datetime.UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"{raw!r} is out of range") from None
    return _in_range(moment, raw)


@lru_cache(maxsize=8192)
def _parse_timestamp_text(raw: str) -> datetime.datetime:
    value = raw.strip()
    if _EPOCH.fullmatch(value):
        return _from_epoch(Decimal(value), raw)
    us = _US_DATE.fullmatch(value)
    if us:
        month, day, year, hour, minute, second, meridiem = us.groups()
        year = int(year) + (2000 if len(year) == 2 else 0)
        hour = int(hour or 0)
        if meridiem:
            if not 1 <= hour <= 12:
                raise ValueError(f"{raw!r} is not a valid time")
            hour = hour % 12 + (12 if meridiem.lower() == "pm" else 0)
        try:
            moment = datetime.datetime(
                year, int(month), int(day), hour, int(minute or 0), int(second or 0), tzinfo=datetime.UTC
            )
        except ValueError:
            raise ValueError(f"{raw!r} is not a valid date (expected MM/DD/YYYY)") from None
        return _in_range(moment, raw)
    iso = _FRACTION.sub(r"\1", value)
    if iso.upper().endswith(" UTC"):
        iso = iso[:-4]
    iso = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", iso)  # +0000 -> +00:00
    try:
        moment = datetime.datetime.fromisoformat(iso)
    except ValueError:
        raise ValueError(
            f"{raw!r} is not a date or time (expected e.g. 2025-04-01, 2025-04-01T00:00:00Z or 04/01/2025)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return _in_range(moment.astimezone(datetime.UTC), raw)


def parse_timestamp(value) -> datetime.datetime | None:
    """An aware UTC datetime, None when empty. Naive values are UTC; numbers are Unix seconds."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a date or time")
    if isinstance(value, int | float | Decimal):
        return _from_epoch(Decimal(str(value)), value)
    if is_null(value):
        return None
    return _parse_timestamp_text(str(value))


def parse_period(start_value, end_value, start_column: str, end_column: str):
    """(start, end), both present and in order; raises ColumnError naming the faulty column."""
    moments = []
    for column, value in ((start_column, start_value), (end_column, end_value)):
        try:
            moment = parse_timestamp(value)
        except ValueError as exc:
            raise ColumnError(column, str(exc)) from None
        if moment is None:
            raise ColumnError(column, "is empty: a date or time is required")
        moments.append(moment)
    start, end = moments
    if end < start:
        raise ColumnError(end_column, f"{end.isoformat()} is before the start {start.isoformat()}")
    return start, end


class ColumnError(ValueError):
    """A ValueError that knows which column it is about."""

    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column = column
        self.message = message


def row_error(line: int, exc: Exception, column: str = "") -> RowError:
    if isinstance(exc, ColumnError):
        return RowError(line=line, column=exc.column, message=f"{exc.column}: {exc.message}")
    return RowError(line=line, column=column, message=f"{column}: {exc}" if column else str(exc))


def parse_currency(value) -> str:
    code = text(value).upper()
    if not code:
        raise ValueError("is empty: a three-letter ISO 4217 currency code is required")
    if code not in ISO_4217:
        raise ValueError(
            f"{text(value)!r} is not an ISO 4217 currency code (e.g. USD, EUR); "
            "tokens and credits are units, not currencies"
        )
    return code


def tag_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return str(value)


def parse_tags(value) -> dict[str, str]:
    """A JSON object of tags. Keys keep their text exactly; values become strings."""
    if isinstance(value, dict):
        data = value
    elif is_null(value):
        return {}
    else:
        try:
            data = json.loads(str(value))
        except json.JSONDecodeError as exc:
            raise ValueError(
                f'is not valid JSON ({exc.msg}); expected an object like {{"team": "x"}}'
            ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError('must be a JSON object like {"team": "x"}')
    return {str(key): tag_value(item) for key, item in data.items()}


_TOKEN_UNIT = re.compile(
    r"(?P<count>\d[\d,]*(?:\.\d+)?)?\s*(?P<scale>k|thousand|m|mn|million|b|billion)?\s*tokens?"
    r"(?:\s*\((?:1\s*)?(?P<paren>k|thousands?|m|millions?)\))?",
    re.IGNORECASE,
)
_SCALES = {"k": 1000, "thousand": 1000, "thousands": 1000, "m": 10**6, "mn": 10**6, "million": 10**6}
_SCALES |= {"millions": 10**6, "b": 10**9, "billion": 10**9}


@lru_cache(maxsize=256)
def token_unit_multiplier(unit: str) -> int | None:
    """Single tokens per unit for "Tokens", "1K Tokens", "1000 Tokens", "1M Tokens", "Million Tokens"…

    None when the unit is not a token unit. Follows the block sizes of finops-toolkit PricingUnits.csv.
    """
    match = _TOKEN_UNIT.fullmatch(text(unit))
    if not match:
        return None
    multiplier = Decimal(match["count"].replace(",", "")) if match["count"] else Decimal(1)
    for scale in (match["scale"], match["paren"]):
        if scale:
            multiplier *= _SCALES[scale.lower()]
    return int(multiplier) if multiplier >= 1 and multiplier == int(multiplier) else None


def content_hash(*values) -> str:
    """A stable key for rows with no natural id: sha256 of the values, 40 hex characters."""
    joined = "\x1f".join(value if isinstance(value, str) else tag_value(value) for value in values)
    return hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def short_key(*parts, limit: int = 200) -> str:
    """ ":"-joined parts, hashed past `limit` characters (SpendRecord.source_row_key is 200)."""
    key = ":".join(tag_value(part) for part in parts)
    return key if len(key) <= limit else content_hash(*parts)


class _PrefixedStream(io.RawIOBase):
    """Bytes already read from a non-seekable stream, put back in front of it."""

    def __init__(self, prefix: bytes, rest: BinaryIO):
        self._prefix, self._rest = prefix, rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._prefix:
            size = min(len(buffer), len(self._prefix))
            buffer[:size], self._prefix = self._prefix[:size], self._prefix[size:]
            return size
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def peek(stream: BinaryIO, size: int = 4) -> tuple[bytes, BinaryIO]:
    """The first bytes of a stream without consuming them, and the stream to read from now on."""
    if hasattr(stream, "peek"):
        try:
            head = stream.peek(size)[:size]
            if len(head) >= size or not head:
                return head, stream
        except (OSError, ValueError):
            pass
    if getattr(stream, "seekable", lambda: False)():
        position = stream.tell()
        head = stream.read(size)
        stream.seek(position)
        return head, stream
    head = stream.read(size)
    return head, io.BufferedReader(_PrefixedStream(head, stream))


class _Gunzipped(io.RawIOBase):
    """A gzip stream (one member or several, zero padding after them allowed) whose damage (cut short,
    corrupt) is an ImportFileError that says so, instead of the EOFError, OSError or zlib.error that
    surface wherever the damaged block is read.

    It stops a decompression bomb while it streams: past the largest decompressed size, or past the
    largest expansion ratio once a few megabytes are out, the next read raises ImportFileError naming
    the limit, so no more than one read's worth of the expanded file is ever in memory. The ratio is
    judged against the compressed bytes the decompressor has consumed, not those read ahead of it;
    that is why it drives zlib itself: gzip.GzipFile holds a read it has not expanded yet (8 KB on
    Python 3.11, 128 KB on later ones), and counting it let a bomb that expands 340 times out 3.75 MB
    (38 MB with Python 3.11's gzip made to read 128 KB) before a ratio judged from 1 MB caught up."""

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._input = b""  # read from the file, not yet consumed by the decompressor
        self._read_total = 0
        self._limits = import_limits()
        self.count = 0

    @property
    def compressed(self) -> int:
        """The compressed bytes consumed so far."""
        return self._read_total - len(self._input)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if not len(buffer):
            return 0
        try:
            data = self._expand(len(buffer))
        except (OSError, EOFError, zlib.error) as exc:
            raise ImportFileError(
                f"The gzip file is damaged or cut short ({exc}): compress it again or upload it uncompressed."
            ) from None
        self.count += len(data)
        limits = self._limits
        if self.count > limits.max_decompressed:
            raise ImportFileError(
                f"The file expands to more than {megabytes(limits.max_decompressed)} when decompressed, "
                f"the limit (IMPORT_MAX_DECOMPRESSED_MB): split the export by month and upload each part."
            )
        if self.count > RATIO_FLOOR and self.count > limits.max_ratio * max(self.compressed, 1):
            raise ImportFileError(
                f"The file expands more than {limits.max_ratio} times when decompressed, the limit "
                "(IMPORT_MAX_RATIO): a real bill does not compress that well; upload it uncompressed "
                "if it is genuine."
            )
        buffer[: len(data)] = data
        return len(data)

    def _read(self) -> bytes:
        data = self._stream.read(GZIP_READ_BLOCK)
        self._read_total += len(data)
        return data

    def _expand(self, size: int) -> bytes:
        """Up to `size` decompressed bytes; b"" at the end of the last member."""
        while True:
            if self._inflate.eof and not self._next_member():
                return b""
            if not self._input:
                self._input = self._read()
                if not self._input:
                    raise EOFError("Compressed file ended before the end-of-stream marker was reached")
            data = self._inflate.decompress(self._input, size)
            # What it did not consume: left over once `size` was out, or what follows the member's end.
            self._input = self._inflate.unconsumed_tail or self._inflate.unused_data
            if data:
                return data

    def _next_member(self) -> bool:
        """After a member: True when another follows (a fresh decompressor ready for it), False at the
        end of the file. Zero bytes between or after members are padding, as gzip reads them."""
        self._input = self._input.lstrip(b"\0")
        while len(self._input) < len(GZIP_MAGIC):
            more = self._read()
            if not more:
                break
            self._input = (self._input + more).lstrip(b"\0")
        if not self._input:
            return False
        if not self._input.startswith(GZIP_MAGIC):
            raise gzip.BadGzipFile(f"Not a gzipped file ({self._input[: len(GZIP_MAGIC)]!r})")
        self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        return True


class _LineGuard(io.RawIOBase):
    """Refuses a physical line longer than the limit, naming it, before anything downstream (the CSV
    reader, a text decoder, PostgreSQL's COPY) has to hold it whole."""

    def __init__(self, stream: BinaryIO, limit: int):
        self._stream, self._limit = stream, limit
        self._line, self._run = 1, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._stream.read(len(buffer))
        self.check(data)
        buffer[: len(data)] = data
        return len(data)

    def check(self, data: bytes) -> None:
        start = 0
        while True:
            end = data.find(b"\n", start)
            length = self._run + (len(data) if end < 0 else end) - start
            if length > self._limit:
                raise ImportFileError(
                    f"Line {self._line} is longer than {megabytes(self._limit)}, the limit "
                    "(IMPORT_MAX_LINE_KB): is it a CSV export with one row per line? Export it again."
                )
            if end < 0:
                self._run = length
                return
            self._line, self._run, start = self._line + 1, 0, end + 1


def guard_lines(stream: BinaryIO) -> BinaryIO:
    """The stream, refusing any line longer than IMPORT_MAX_LINE_KB."""
    return io.BufferedReader(_LineGuard(stream, import_limits().max_line))


def open_maybe_gzip(stream: BinaryIO) -> BinaryIO:
    """The stream itself, or a decompressing view of it when it starts with the gzip magic bytes."""
    head, stream = peek(stream, 2)
    if head == GZIP_MAGIC:
        return io.BufferedReader(_Gunzipped(stream))
    return stream


def parse_json_field(value, expected: type):
    """A JSON object or list given as text (CSV) or already parsed (JSON); empty when null."""
    if is_null(value):
        return expected()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"is not valid JSON ({exc.msg})") from None
    if value is None:
        return expected()
    if not isinstance(value, expected):
        raise ValueError(f"must be a JSON {'object' if expected is dict else 'list'}")
    return value
