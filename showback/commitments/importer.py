"""The FOCUS 1.3 contract-commitment dataset (CSV): one commitment a row.

Columns read (FOCUS 1.3 names): ContractCommitmentId and ContractId (required), BillingCurrency,
ContractCommitmentCategory (Spend or Usage), ContractCommitmentCost (the commitment's cost over its
period: required here, since aifinops amortises cost), ContractCommitmentQuantity and
ContractCommitmentUnit (capacity, for Usage), ContractCommitmentPeriodStart and
ContractCommitmentPeriodEnd (the period; the end is exclusive, as every FOCUS period),
ContractCommitmentType and ContractCommitmentDescription (its name). ServiceProviderName or
ProviderName, when the file carries them, must match the provider chosen on the form.

All or nothing: every row is checked first, and each problem names its line and column. Importing
the same ContractCommitmentId again replaces the commitment.
"""

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from aifinops.core.spreadsheet import CsvUploadError, csv_upload_records

from ..currencies import is_currency

MAX_ROWS = 10_000
MAX_PROBLEMS = 200
MAX_AMOUNT = Decimal("999999999999.99")
MAX_QUANTITY = Decimal("999999999999")
MAX_TEXT = 150
REQUIRED = (
    "ContractCommitmentId",
    "ContractId",
    "ContractCommitmentCost",
    "BillingCurrency",
    "ContractCommitmentPeriodStart",
    "ContractCommitmentPeriodEnd",
)
OPTIONAL = (
    "ContractCommitmentCategory",
    "ContractCommitmentQuantity",
    "ContractCommitmentUnit",
    "ContractCommitmentType",
    "ContractCommitmentDescription",
    "ServiceProviderName",
    "ProviderName",
)
_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


@dataclass(frozen=True)
class Problem:
    line: int
    column: str
    message: str


class CommitmentFileError(Exception):
    def __init__(self, problems):
        self.problems = problems[:MAX_PROBLEMS]
        self.total = len(problems)
        first = problems[0]
        super().__init__(f"Line {first.line}, {first.column or 'file'}: {first.message}")


def rows_from_csv(uploaded) -> list[tuple[int, dict]]:
    """[(line, {column: text})] of the file; a bad header or file raises CommitmentFileError."""
    try:
        header, records = csv_upload_records(
            uploaded,
            empty_hint="it needs a header and one row a commitment.",
            encoding_hint="save it as CSV UTF-8.",
        )
    except CsvUploadError as exc:
        raise CommitmentFileError([Problem(exc.line or 1, "", str(exc))]) from exc
    names = [h.strip() for h in header]
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise CommitmentFileError(
            [Problem(1, c, "This FOCUS 1.3 column is missing from the header.") for c in missing]
        )
    index = {name: i for i, name in enumerate(names) if name in (*REQUIRED, *OPTIONAL)}
    rows = []
    try:
        for line, cells in records:
            if len(rows) >= MAX_ROWS:
                raise CommitmentFileError(
                    [Problem(line, "", f"The file has more than {MAX_ROWS:,} rows: split it.")]
                )
            rows.append(
                (line, {name: cells[i].strip() if i < len(cells) else "" for name, i in index.items()})
            )
    except CsvUploadError as exc:
        raise CommitmentFileError([Problem(exc.line or 1, "", str(exc))]) from exc
    return rows


def _moment(text):
    """A FOCUS date-time (2026-01-01T00:00:00Z, or a plain date) as a UTC datetime."""
    value = text.replace("Z", "+00:00")
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{text[:40]!r} is not a date: write it as 2026-01-01T00:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC)


def _amount(text, *, limit, what):
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"{text[:40]!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{text[:40]!r} is not a number")
    if value < 0:
        raise ValueError(f"is negative ({text[:40]}): a commitment's {what} is zero or more")
    if value > limit:
        raise ValueError(f"{text[:40]} is too large (at most {limit:,})")
    return value


def _check_row(line, row, provider):
    problems, values = [], {}

    def problem(column, message):
        problems.append(Problem(line, column, message))

    for column, text in row.items():
        if _UNSAFE.search(text):
            problem(column, "holds control characters or broken Unicode: remove them")
        elif len(text) > MAX_TEXT and column not in ("ContractCommitmentCost", "ContractCommitmentQuantity"):
            problem(column, f"is longer than {MAX_TEXT} characters")
    if problems:
        return None, problems
    for column in ("ContractCommitmentId", "ContractId"):
        if not row.get(column):
            problem(column, "is empty: every commitment needs it")
    currency = row.get("BillingCurrency", "").upper()
    if not is_currency(currency):
        problem("BillingCurrency", f"{currency[:10]!r} is not an ISO 4217 currency code")
    category = row.get("ContractCommitmentCategory", "").casefold() or "spend"
    if category not in ("spend", "usage"):
        problem("ContractCommitmentCategory", "must be Spend or Usage")
    for column, key, limit, what, required in (
        ("ContractCommitmentCost", "committed_amount", MAX_AMOUNT, "cost", True),
        ("ContractCommitmentQuantity", "capacity_units", MAX_QUANTITY, "quantity", False),
    ):
        text = row.get(column, "")
        if not text:
            if required:
                problem(column, "is empty: aifinops amortises the commitment's cost, so it needs it")
            continue
        try:
            values[key] = _amount(text, limit=limit, what=what)
        except ValueError as exc:
            problem(column, str(exc))
    moments = {}
    for column in ("ContractCommitmentPeriodStart", "ContractCommitmentPeriodEnd"):
        try:
            moments[column] = _moment(row.get(column, ""))
        except ValueError as exc:
            problem(column, str(exc))
    if len(moments) == 2:
        start, end = moments["ContractCommitmentPeriodStart"], moments["ContractCommitmentPeriodEnd"]
        if end <= start:
            problem("ContractCommitmentPeriodEnd", "is not after ContractCommitmentPeriodStart")
        elif (end - start).days > 3660:
            problem("ContractCommitmentPeriodEnd", "makes a term of more than ten years")
        else:
            values["term_start"] = start.date()
            values["term_end"] = (end - datetime.timedelta(microseconds=1)).date()
    named = row.get("ServiceProviderName") or row.get("ProviderName")
    if named and named.casefold() not in (provider.name.casefold(), provider.slug.casefold()):
        column = "ServiceProviderName" if row.get("ServiceProviderName") else "ProviderName"
        problem(column, f"names {named!r}, not {provider.name}: import each provider's file on its own")
    if problems:
        return None, problems
    values.update(
        commitment_id=row["ContractCommitmentId"],
        contract_id=row["ContractId"],
        currency=currency,
        category=category,
        capacity_unit=row.get("ContractCommitmentUnit", "")[:32] if category == "usage" else "",
        name=(
            row.get("ContractCommitmentDescription")
            or row.get("ContractCommitmentType")
            or row["ContractCommitmentId"]
        )[:MAX_TEXT],
    )
    if category != "usage":
        values.pop("capacity_units", None)
    return values, []


def check_rows(rows, *, provider):
    """(clean values, problems) of [(line, row)]; repeated ContractCommitmentIds are problems."""
    clean, problems, seen = [], [], {}
    for line, row in rows:
        values, found = _check_row(line, row, provider)
        problems.extend(found)
        if values is None:
            continue
        if values["commitment_id"] in seen:
            problems.append(
                Problem(
                    line,
                    "ContractCommitmentId",
                    f"is also on line {seen[values['commitment_id']]}: one row a commitment",
                )
            )
            continue
        seen[values["commitment_id"]] = line
        clean.append(values)
    if not rows and not problems:
        problems.append(Problem(1, "", "There are no rows to import."))
    return clean, problems
