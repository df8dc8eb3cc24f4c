"""Figures of the dashboard's common ground: the Dataset every figure is, and small helpers."""

from dataclasses import dataclass, field

from aifinops.core.templatetags.afo import money

from .data import DashboardData


@dataclass
class Dataset:
    key: str
    title: str
    columns: list  # [(field, header)]
    rows: list = field(default_factory=list)  # [dict]
    currency: str = "USD"
    headline: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    # The page listing every row the card shows the first of, and how many there are ("See all (N)").
    see_all: str = ""
    total: int | None = None

    def csv_rows(self):
        for row in self.rows:
            yield [row.get(name) for name, _ in self.columns]

    def in_currency(self):
        return [r for r in self.rows if r.get("currency", self.currency) == self.currency]


def _share(part, whole):
    return part / whole if whole else None


def _growth(now, before):
    return (now - before) / before if before else None


def _left_out(data: DashboardData):
    if not data.other_currencies:
        return []
    return [f"Spend in {', '.join(data.other_currencies)} is in the CSV, not in this chart."]


# Spend against budget, by function and team: each budget's own current period.


def _rates_notes(conv) -> list[str]:
    """The notes under a chart in the reporting currency: the rates used and the spend left out."""
    notes = []
    if conv.rates:
        notes.append(
            f"In {conv.currency}: other currencies at each day's rate (latest: "
            + "; ".join(str(r) for r in conv.rates)
            + ")."
        )
    for m in conv.missing:
        notes.append(f"Not in this chart: {money(m.amount, m.currency)}, {m}.")
    return notes
