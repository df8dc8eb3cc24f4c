"""The contract between the spend importers (one per format) and the import pipeline.

An importer reads a binary stream row by row, never the whole file at once, and yields, for each
source row, either a `CanonicalRow` or a `RowError` naming the line, the column and the reason.
It knows nothing of the database: the pipeline (showback.ingest.services) deduplicates,
attributes, costs usage-only rows from the model catalog, writes and rolls up.
"""

import datetime
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import BinaryIO, ClassVar


@dataclass
class CanonicalRow:
    line: int  # 1-based line (CSV, header is line 1) or record number (JSON) in the source
    source_row_key: str  # the row's natural id in its source, or a hash of its content
    charge_period_start: datetime.datetime  # timezone-aware UTC, inclusive
    charge_period_end: datetime.datetime  # timezone-aware UTC, exclusive
    provider_name: str
    service_name: str = ""
    service_category: str = ""
    model_name: str = ""
    token_type: str = ""  # showback.models.TokenType value, "" when the row is not tokens
    quantity: Decimal = Decimal("0")  # in single tokens when token_type is set
    unit: str = ""
    # None means the source carries no cost (usage only): the pipeline costs it from the catalog.
    billed_cost: Decimal | None = None
    effective_cost: Decimal | None = None
    list_cost: Decimal | None = None
    currency: str = "USD"
    is_estimated: bool = False  # the source's cost is itself an estimate (LiteLLM price book)
    is_ai: bool = True
    billing_account: str = ""
    sub_account: str = ""
    api_key: str = ""
    user_label: str = ""
    requests: int = 0
    tags: dict = field(default_factory=dict)  # keys as in the source; the pipeline normalises them
    environment: str = ""
    raw_extras: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str


class ImportFileError(Exception):
    """The file as a whole cannot be read (empty, binary, wrong format, broken JSON)."""


class Importer:
    name: ClassVar[str]
    label: ClassVar[str]

    @classmethod
    def sniff(cls, head: bytes, filename: str = "") -> bool:
        """Whether the first bytes (up to 64 KiB, already un-gzipped) look like this format."""
        raise NotImplementedError

    def parse(self, stream: BinaryIO) -> Iterator[CanonicalRow | RowError]:
        """Yield one result per source row, streaming. Raise ImportFileError for a bad file."""
        raise NotImplementedError
