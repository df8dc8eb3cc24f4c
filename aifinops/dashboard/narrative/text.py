"""What the narrative is made of: sentences with their evidence, and the words for amounts."""

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass
class Sentence:
    text: str
    evidence: list = field(default_factory=list)  # [(label, url)]


@dataclass
class Section:
    key: str
    title: str
    sentences: list = field(default_factory=list)


def _pct(fraction) -> str:
    if fraction is None:
        return "—"
    value = round(Decimal(fraction) * 100)
    return "under 1 %" if fraction and not value else f"{value} %"


def _names(items, limit=3) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    shown = items[:limit]
    rest = len(items) - len(shown)
    if rest:
        return ", ".join(shown) + f" and {rest} more"
    return ", ".join(shown[:-1]) + " and " + shown[-1]
