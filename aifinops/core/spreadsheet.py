"""CSV for people who open it in a spreadsheet: cells that cannot run as formulas, streamed rows,
and the small CSV files people upload from one (revenue, a seat list)."""

import csv
import io

from django.http import StreamingHttpResponse

# A cell starting with one of these would be read as a formula (or a hidden one) by a spreadsheet;
# the full-width forms too, which some spreadsheets (Excel with an East Asian input) fold to ASCII.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def safe_text(value):
    """A text cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


class _Echo:
    """A file that hands back what is written to it, for csv.writer to stream through."""

    def write(self, value):
        return value


def csv_stream(header, rows):
    """The lines of a CSV, one at a time: constant memory however many rows."""
    writer = csv.writer(_Echo(), lineterminator="\n")
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow(row)


def csv_response(header, rows, *, filename):
    response = StreamingHttpResponse(csv_stream(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class CsvUploadError(ValueError):
    """An upload that cannot be read as CSV text; `line` says where (the header is line 1)."""

    def __init__(self, message, *, line=1):
        super().__init__(message)
        self.line = line


def csv_upload_records(uploaded_file, *, empty_hint, encoding_hint):
    """(header, records) of an uploaded CSV in UTF-8 (a byte-order mark dropped). `records` yields
    (line, values) for each record that is not blank, `line` being its first line in the file.

    Raises CsvUploadError, ending with the caller's hint, for a file that is not UTF-8 or has no
    header; and, while the records are read, naming the line that is not CSV (a field longer than
    the csv module's limit, say) rather than letting csv.Error through."""
    try:
        content = uploaded_file.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvUploadError(f"The file is not UTF-8 text: {encoding_hint}") from None
    reader = csv.reader(io.StringIO(content, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise CsvUploadError(f"Line 1 cannot be read as CSV: {exc}.") from None
    if not header:
        raise CsvUploadError(f"The file is empty: {empty_hint}")
    return header, _records(reader)


def _records(reader):
    previous = reader.line_num
    try:
        for values in reader:
            line, previous = previous + 1, reader.line_num
            if any(value.strip() for value in values):
                yield line, values
    except csv.Error as exc:
        line = previous + 1
        raise CsvUploadError(f"Line {line} cannot be read as CSV: {exc}.", line=line) from None
