"""Budget figures for pages outside showback (the use-case and team pages), which portfolio's views
do not compute: `{% use_case_budget_rows use_case as rows %}`, `{% team_budget_rows team as rows %}`,
`{% use_case_group_cap use_case as cap %}`.

Whoever may open those pages may see these budgets (permissions.can_view_budget); one query when
there are none, three or four when there are.
"""

from django import template

from ..budgets import selectors as budget_selectors

register = template.Library()


@register.simple_tag
def use_case_budget_rows(use_case):
    return budget_selectors.use_case_budgets(use_case=use_case)


@register.simple_tag
def team_budget_rows(team):
    return budget_selectors.team_budgets(team=team)


@register.simple_tag
def use_case_group_cap(use_case):
    """The used-up team, function or portfolio hard cap stopping the use case, or None."""
    return budget_selectors.use_case_group_cap(use_case)


@register.filter
def any_capped(rows):
    return any(status is not None and status.capped for _, status in rows)


# Worst first: the one word a page's header says about all of a use case's budgets.
_STATE_RANK = {"capped": 0, "over": 1, "at_risk": 2, "on_track": 3}


@register.filter
def budget_state(rows):
    """The worst state among a page's budget rows ("capped", "over", "at_risk", "on_track"), or ""
    when none is active: the same states the budget table shows, row by row."""
    states = [status.state for _, status in rows if status is not None]
    return min(states, key=_STATE_RANK.__getitem__) if states else ""
