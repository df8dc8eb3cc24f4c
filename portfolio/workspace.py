"""The use-case page as a workspace: a header every tab shares, and one context selector per tab.

The page itself renders the header and one tab. Each tab has a URL of its own
(`portfolio:use_case_tab_<name>`, the overview is the page's own URL): opened directly it is the
whole page on that tab (a deep link, a reload, no JavaScript needed); asked by htmx it is the tab
alone, so a tab costs only its own queries. Each function below reads what one tab shows, through
the selectors the rest of the app uses (spend through the door `portfolio.spend`; budgets, the
gateway and the council bring their figures as template tags of their own apps).
"""

from aifinops.core.selectors import audit_events_for

from . import spend
from .gates import views as gate_views
from .value import views as value_views
from .value.build_vs_buy import build_vs_buy_for

OVERVIEW = "overview"
# (name, label): the tabs in the order they are shown.
TABS = (
    (OVERVIEW, "Overview"),
    ("gates", "Stage and gates"),
    ("value", "Value and economics"),
    ("spend", "Spend"),
    ("agents", "Agent controls"),
    ("backlog", "Backlog"),
    ("history", "History"),
)
TAB_NAMES = tuple(name for name, _ in TABS)


def header_context(*, use_case):
    """What the sticky header shows on every tab: its figures come from the same selectors as the
    other pages' (month-to-date spend from the spend summary, the budgets' status from budgets)."""
    return {
        "spend": spend.use_case_spend_summary(use_case=use_case),
        "build_vs_buy": build_vs_buy_for(use_case=use_case),
    }


def overview_tab(request, use_case, *, header=None):
    # The build-versus-buy alert is on the overview; on the whole page the header read it already.
    if header is not None:
        return {"build_vs_buy": header["build_vs_buy"]}
    return {"build_vs_buy": build_vs_buy_for(use_case=use_case)}


def gates_tab(request, use_case, **_):
    return gate_views.stage_context(request, use_case)


def value_tab(request, use_case, **_):
    return value_views.value_context(request, use_case, sections=("value",))


def spend_tab(request, use_case, *, header=None):
    summary = header["spend"] if header is not None else spend.use_case_spend_summary(use_case=use_case)
    trend = spend.use_case_spend_trend(use_case=use_case)
    return {
        "spend": summary,
        "trend": trend,
        "trend_chart": spend.monthly_trend_chart(trend, title=f"{use_case.name}: AI spend per month"),
    }


def agents_tab(request, use_case, **_):
    # The gateway's template tag reads the agent policy, telemetry, keys and log itself.
    return {}


def backlog_tab(request, use_case, **_):
    return value_views.value_context(request, use_case, sections=("backlog",))


def history_tab(request, use_case, **_):
    return {"history": audit_events_for(use_case)}


TAB_CONTEXT = {
    OVERVIEW: overview_tab,
    "gates": gates_tab,
    "value": value_tab,
    "spend": spend_tab,
    "agents": agents_tab,
    "backlog": backlog_tab,
    "history": history_tab,
}


def tab_context(request, use_case, tab, *, header=None):
    """The context of one tab (`tab` one of TAB_NAMES)."""
    return TAB_CONTEXT[tab](request, use_case, header=header)


def tab_links(use_case, active):
    """[(name, label, url, selected)] for the tab list."""
    return [(name, label, use_case.get_tab_url(name), name == active) for name, label in TABS]
