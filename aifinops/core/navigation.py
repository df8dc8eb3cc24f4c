"""The one navigation of the product: the same entries in the same order for everyone, each shown
only to the people its page lets in.

Each entry names its page and the predicate of `aifinops.core.permissions` that the page's view
asks, so the navigation never offers a link its page would refuse, and never hides one it would
open. Core imports no app: pages are named by their URL names, reversed when the bar is built.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse

from . import permissions


def _signed_in(user) -> bool:
    return getattr(user, "is_authenticated", False)


def _section(name: str) -> Callable[..., bool]:
    return lambda user: permissions.can_access_section(user, name)


@dataclass(frozen=True)
class Entry:
    label: str
    url_name: str
    allowed: Callable[..., bool]
    # Path prefixes of the pages that belong to this entry (the current one gets aria-current).
    prefixes: tuple[str, ...] = ()
    children: tuple["Entry", ...] = ()
    # Where the entry leads people its own page refuses, when another page answers them.
    fallback: tuple[str, Callable[..., bool]] | None = None


NAVIGATION = (
    Entry("Home", "home", _signed_in),
    Entry("Intake", "intake:index", _section("intake"), ("/intake/",)),
    Entry(
        "Portfolio",
        "portfolio:use_case_list",
        _section("portfolio"),
        ("/portfolio/",),
        children=(
            Entry("Use cases", "portfolio:use_case_list", _section("portfolio"), ("/portfolio/",)),
            Entry("Teams", "portfolio:team_list", _section("portfolio"), ("/portfolio/teams/",)),
            Entry("Model catalog", "portfolio:model_catalog", _section("portfolio"), ("/portfolio/models/",)),
            Entry("AI tools", "portfolio:subscription_list", _section("portfolio"), ("/portfolio/tools/",)),
        ),
    ),
    # Council members open the council; everyone else, where their own items stand before it.
    Entry(
        "Council",
        "council:index",
        _section("council"),
        ("/council/",),
        fallback=("council:my_items", _signed_in),
    ),
    Entry(
        "Showback",
        "showback:index",
        _section("showback"),
        ("/showback/",),
        children=(
            Entry("Spend", "showback:index", permissions.can_view_spend),
            Entry("Import spend", "showback:import_list", permissions.IMPORT_SPEND, ("/showback/imports/",)),
            Entry(
                "Attribution",
                "showback:unattributed",
                permissions.KEEP_ATTRIBUTION_RULES,
                ("/showback/unattributed/", "/showback/rules/"),
            ),
            Entry("Budgets", "showback:budget_list", permissions.can_view_spend, ("/showback/budgets/",)),
            Entry(
                "Anomalies",
                "analytics:anomaly_list",
                permissions.can_view_spend,
                ("/showback/analytics/anomalies/",),
            ),
            Entry(
                "Forecast",
                "analytics:forecast_portfolio",
                permissions.can_view_forecast,
                ("/showback/analytics/forecast/",),
            ),
            Entry(
                "Chargeback",
                "showback:chargeback",
                permissions.can_view_spend,
                ("/showback/chargeback/", "/showback/reconciliation/"),
            ),
            Entry("Margins", "showback:margins", permissions.SEE_MARGINS, ("/showback/margins/",)),
            Entry(
                "Commitments",
                "showback:commitment_list",
                permissions.SEE_COMMITMENTS,
                ("/showback/commitments/",),
            ),
            Entry(
                "Exchange rates",
                "showback:exchange_rate_list",
                permissions.can_view_spend,
                ("/showback/rates/",),
            ),
        ),
    ),
    Entry("Dashboard", "dashboard:index", _section("dashboard"), ("/dashboard/",)),
    # Administration in the product's words; Django's own admin is linked from its landing page.
    Entry("Admin", "admin_area:index", permissions.ADMINISTER, ("/administration/", "/admin/")),
)


def _current(entry: Entry, url: str, path: str) -> str:
    """The entry's aria-current: "page" on its own page, "true" anywhere else in its part."""
    if path == url:
        return "page"
    if any(path.startswith(prefix) for prefix in entry.prefixes):
        return "true"
    return ""


def _item(entry: Entry, user, path: str) -> dict | None:
    if entry.allowed(user):
        url = reverse(entry.url_name)
    elif entry.fallback is not None and entry.fallback[1](user):
        url = reverse(entry.fallback[0])
    else:
        return None
    children = [c for c in (_item(child, user, path) for child in entry.children) if c is not None]
    current = _current(entry, url, path)
    if children:
        # Within a part, only the most specific child is current (Use cases does not claim the
        # AI tools pages, nor Spend the budgets).
        best = max(
            (c for c in children if c["current"]),
            key=lambda c: (c["current"] == "page", c["match_length"]),
            default=None,
        )
        for child in children:
            child["current"] = child["current"] if child is best else ""
        current = current or ("true" if best else "")
    return {
        "label": entry.label,
        "url": url,
        "current": current,
        "children": children,
        "match_length": max((len(p) for p in entry.prefixes if path.startswith(p)), default=len(url)),
    }


def navigation_for(user, path: str = "") -> list[dict]:
    """The bar for `user`: [{label, url, current, children}], in the one order, without the
    entries whose page would refuse them."""
    if not _signed_in(user):
        return []
    return [item for item in (_item(entry, user, path) for entry in NAVIGATION) if item is not None]
