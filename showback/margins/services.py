"""Loading revenue per customer and month, from a CSV file (the upload page) or rows (the API).

All or nothing: every row is checked first, and one bad row loads nothing; each problem names its
line and column. A customer and month already loaded are replaced, so a corrected file can be
loaded again.
"""

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction

from aifinops.core import permissions
from aifinops.core.audit import audit_record
from aifinops.core.spreadsheet import CsvUploadError, csv_upload_records

from ..models import CustomerRevenue

REQUIRED = ("month", "customer", "revenue", "currency")
OPTIONAL = ("plan", "segment")
MAX_ROWS = 200_000
MAX_PROBLEMS = 200
MAX_REVENUE = Decimal("9999999999999999.99")
CURRENCY = re.compile(r"[A-Z]{3}")
MONTH = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?")


class RevenueFileError(Exception):
    """The file or rows cannot be loaded. `problems` is [{line, column, message}]; line 1 is the
    header of a CSV, and the first row of an API call is line 1 too (its position in `rows`)."""

    def __init__(self, problems):
        self.problems = problems[:MAX_PROBLEMS]
        self.total = len(problems)
        first = problems[0]
        where = f"line {first['line']}" + (f", column “{first['column']}”" if first["column"] else "")
        more = f" ({self.total - 1} more problem{'s' if self.total > 2 else ''})" if self.total > 1 else ""
        super().__init__(f"Nothing was loaded: {where}: {first['message']}{more}")


@dataclass(frozen=True)
class RevenueLoad:
    created: int
    replaced: int
    customers: int
    months: list  # [first day of month], sorted


def _problem(line, column, message):
    return {"line": line, "column": column, "message": message}


def parse_month(raw):
    match = MONTH.fullmatch(raw)
    if not match:
        return None
    try:
        return datetime.date(int(match[1]), int(match[2]), int(match[3] or 1)).replace(day=1)
    except ValueError:
        return None


def _revenue(raw):
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return (
            None,
            "is not a number: write it plainly, like 1234.50 (no currency sign or thousands separator).",
        )
    if not value.is_finite():
        return None, "is not a number."
    if value < 0:
        return None, "is negative: revenue is zero or more (enter credits in the month they reduce)."
    if value != value.quantize(Decimal("0.01")):
        return None, "has more than two decimal places."
    if value > MAX_REVENUE:
        return None, "is too large."
    return value, None


def _check_row(line, row):
    """(clean values or None, problems) of one row given as {column: text}."""
    problems = []
    text = {k: (row.get(k) or "").strip() for k in (*REQUIRED, *OPTIONAL)}
    for column in REQUIRED:
        if not text[column]:
            problems.append(_problem(line, column, "is empty."))
    month = parse_month(text["month"]) if text["month"] else None
    if text["month"] and month is None:
        problems.append(
            _problem(line, "month", f"“{text['month'][:20]}” is not a month: use YYYY-MM (2026-10).")
        )
    revenue = None
    if text["revenue"]:
        revenue, message = _revenue(text["revenue"])
        if message:
            problems.append(_problem(line, "revenue", f"“{text['revenue'][:20]}” {message}"))
    currency = text["currency"].upper()
    if currency and not CURRENCY.fullmatch(currency):
        problems.append(
            _problem(line, "currency", f"“{text['currency'][:10]}” is not a three-letter code (USD).")
        )
    for column, limit in (("customer", 150), ("plan", 100), ("segment", 100)):
        if len(text[column]) > limit:
            problems.append(_problem(line, column, f"is longer than {limit} characters."))
    if problems:
        return None, problems
    values = {
        "month": month,
        "customer": text["customer"],
        "revenue": revenue,
        "currency": currency,
        "plan": text["plan"],
        "segment": text["segment"],
    }
    return values, []


def revenue_rows_from_csv(uploaded) -> list[tuple[int, dict]]:
    """[(line, {column: text})] of a CSV file, with the header's problems raised as a
    RevenueFileError. Column names are read case- and space-blind."""
    try:
        header, records = csv_upload_records(
            uploaded,
            empty_hint="it needs a header and one row a month.",
            encoding_hint="save it as CSV UTF-8.",
        )
    except CsvUploadError as exc:
        raise RevenueFileError([_problem(exc.line, "", str(exc))]) from exc
    names = [h.strip().lower() for h in header]
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise RevenueFileError(
            [
                _problem(
                    1,
                    c,
                    "This column is missing from the header: it needs month, customer, revenue, currency.",
                )
                for c in missing
            ]
        )
    index = {name: i for i, name in enumerate(names) if name in (*REQUIRED, *OPTIONAL)}
    rows = []
    try:
        for line, cells in records:
            rows.append((line, {name: cells[i] if i < len(cells) else "" for name, i in index.items()}))
            if len(rows) > MAX_ROWS:
                raise RevenueFileError(
                    [_problem(line, "", f"The file has more than {MAX_ROWS:,} rows: split it.")]
                )
    except CsvUploadError as exc:
        raise RevenueFileError([_problem(exc.line, "", str(exc))]) from exc
    return rows


def _check_all(rows):
    problems, clean, seen = [], [], {}
    for line, row in rows:
        values, found = _check_row(line, row)
        problems.extend(found)
        if values is None:
            continue
        key = (values["customer"], values["month"])
        if key in seen:
            problems.append(
                _problem(
                    line,
                    "customer",
                    f"{values['customer']} in {values['month']:%Y-%m} is also on line {seen[key]}: "
                    "one row a month.",
                )
            )
            continue
        seen[key] = line
        clean.append(values)
    if not rows and not problems:
        problems.append(_problem(1, "", "There are no rows to load."))
    return clean, problems


@transaction.atomic
def revenue_import(*, actor, rows, source="") -> RevenueLoad:
    """Load [(line, {column: text})] all or nothing; raise RevenueFileError naming every bad row."""
    if actor is not None:
        permissions.require(actor, permissions.LOAD_REVENUE)
    clean, problems = _check_all(rows)
    if problems:
        raise RevenueFileError(problems)
    keys = {(v["customer"], v["month"]) for v in clean}
    months = sorted({v["month"] for v in clean})
    existing = {
        (r.customer, r.month): r.pk
        for r in CustomerRevenue.objects.filter(month__in=months, customer__in={c for c, _ in keys}).only(
            "customer", "month"
        )
        if (r.customer, r.month) in keys
    }
    CustomerRevenue.objects.filter(pk__in=existing.values()).delete()
    loaded_by = actor if getattr(actor, "is_authenticated", False) else None
    CustomerRevenue.objects.bulk_create(
        [CustomerRevenue(**v, loaded_by=loaded_by) for v in clean], batch_size=2000
    )
    result = RevenueLoad(
        created=len(clean) - len(existing),
        replaced=len(existing),
        customers=len({c for c, _ in keys}),
        months=months,
    )
    audit_record(
        actor=actor,
        action="customer_revenue.load",
        object_type="showback.customerrevenue",
        object_id=source or "rows",
        after={
            "rows": len(clean),
            "created": result.created,
            "replaced": result.replaced,
            "customers": result.customers,
            "months": [m.isoformat() for m in months],
        },
    )
    return result
