"""The search across apps: each app's searchable source, for one user, matched against one query."""

from dataclasses import dataclass, field

from aifinops.core.search import hits
from council.search import agenda_item_source
from intake.search import intake_source
from portfolio.search import model_source, team_source, use_case_source
from showback.budgets.search import budget_source

# In the order the results show them.
SOURCES = (use_case_source, intake_source, agenda_item_source, budget_source, team_source, model_source)
KINDS = ("use_case", "intake", "agenda_item", "budget", "team", "model")
PER_KIND = 8
PER_PAGE = 50


@dataclass
class ResultGroup:
    kind: str
    label: str
    total: int
    hits: list = field(default_factory=list)

    @property
    def more(self) -> int:
        return self.total - len(self.hits)


def search(*, user, q, kind=None, limit=PER_KIND, offset=0, vendor=None) -> list[ResultGroup]:
    """[ResultGroup] of every kind (or of `kind` only) with hits for `q`, each with at most `limit`
    hits and the number of all its matches: one query per kind, however many match."""
    groups = []
    for build in SOURCES:
        source = build(user=user)
        if kind and source.kind != kind:
            continue
        total, found = hits(source, q, limit=limit, offset=offset, vendor=vendor)
        if total:
            groups.append(ResultGroup(kind=source.kind, label=source.label, total=total, hits=found))
    return groups
