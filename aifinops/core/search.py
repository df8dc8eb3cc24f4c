"""How a search query matches records: the one matching rule that every app's searchable source uses.

Each app says what it offers to search in its own `search.py` (a `SearchSource`: a queryset already
cut down by that app's visibility selector for the user, the fields to match, and how a hit reads);
the search page, above every app, combines them. Matching is PostgreSQL full-text search ('simple'
configuration, every word of the query a prefix, so that results follow as one types), with a plain
`icontains` fallback on other databases (SQLite, for `make run`).

What a person types never reaches the tsquery parser as operators: the query is cut into words of
letters and digits, each quoted as a prefix lexeme, so `&`, `|`, `!`, `:*`, `<->` or quotes are
only separators and no input can make the database raise.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, F, FloatField, Q, QuerySet, Value, Window

MAX_QUERY_LENGTH = 200
MAX_TERMS = 12
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class SearchSource:
    """What one kind of record brings to the search: built per user by the app that owns it.

    `queryset` is already restricted to what the user may see (the app's own selector or scope);
    `fields` are matched, the first ones weighing most; `title`, `context` and `url` turn a hit
    into what the results show. They may follow only relations the queryset selects. `also`, if
    given, turns the whole query into one more condition that matches (a reference like INT-0042).
    """

    kind: str
    label: str
    queryset: QuerySet
    fields: tuple[str, ...]
    title: Callable[[object], str]
    context: Callable[[object], str]
    url: Callable[[object], str]
    also: Callable[[str], Q] | None = None


def search_terms(q: str) -> list[str]:
    """The words of a query that can match: runs of letters and digits, lower-cased, at most
    MAX_TERMS of them. Punctuation and tsquery operators are separators."""
    return _WORD.findall((q or "").lower())[:MAX_TERMS]


def _postgres_match(queryset, fields, q, terms, also):
    from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

    weights = ("A", "B", "C", "D")
    vector = SearchVector(fields[0], weight="A", config="simple")
    for i, field in enumerate(fields[1:], start=1):
        vector = vector + SearchVector(field, weight=weights[min(i, 3)], config="simple")
    # Each term is letters and digits only (search_terms), so quoting it is enough to make it a
    # lexeme: nothing of the query is read as an operator.
    query = SearchQuery(" & ".join(f"'{t}':*" for t in terms), search_type="raw", config="simple")
    # A part of a name typed from its middle ("4.1-mini" of "GPT-4.1 mini") is not a word prefix:
    # the name matched as plain text catches it.
    whole = q.strip()
    return queryset.annotate(search_document=vector, search_rank=SearchRank(vector, query)).filter(
        Q(search_document=query) | Q(**{f"{fields[0]}__icontains": whole}) | also
    )


def fallback_match(queryset, fields, terms, also=None):
    """Every term found, as plain text, in one of the fields: the match on databases without
    full-text search. Called directly by the tests, which run on PostgreSQL."""
    condition = Q()
    for term in terms:
        any_field = Q()
        for field in fields:
            any_field |= Q(**{f"{field}__icontains": term})
        condition &= any_field
    matched = queryset.filter(condition | (also or Q(pk__in=[])))
    return matched.annotate(search_rank=Value(0.0, output_field=FloatField()))


def match(queryset, fields, q, *, vendor=None, also=None):
    """`queryset` narrowed to the records matching `q`, each annotated with `search_rank` and
    `search_total` (the number of matches, so one query gives both a page of hits and the count),
    best first. An empty or punctuation-only query matches nothing."""
    terms = search_terms(q)
    if not terms:
        return queryset.none()
    extra = (also(q) if also else None) or Q(pk__in=[])
    if (vendor or connection.vendor) == "postgresql":
        matched = _postgres_match(queryset, fields, q, terms, extra)
    else:
        matched = fallback_match(queryset, fields, terms, extra)
    return matched.annotate(search_total=Window(expression=Count("pk"))).order_by(
        F("search_rank").desc(), fields[0], "pk"
    )


def hits(source: SearchSource, q: str, *, limit: int, offset: int = 0, vendor=None):
    """(total, [hit]) of one source for `q`: one query, whatever the number of matches."""
    qs = source.queryset.prefetch_related(None)
    rows = list(match(qs, source.fields, q, vendor=vendor, also=source.also)[offset : offset + limit])
    total = rows[0].search_total if rows else 0
    if not rows and offset:
        # Past the last page: the count still tells how many there are.
        total = match(qs, source.fields, q, vendor=vendor, also=source.also).count()
    return total, [
        {
            "kind": source.kind,
            "title": source.title(row),
            "context": source.context(row),
            "url": source.url(row),
        }
        for row in rows
    ]
