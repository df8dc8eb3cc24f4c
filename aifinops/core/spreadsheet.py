"""CSV for people who open it in a spreadsheet: cells that cannot run as formulas, streamed rows."""

import csv

from django.http import StreamingHttpResponse

# A cell starting with one of these would be read as a formula (or a hidden one) by a spreadsheet.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


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
