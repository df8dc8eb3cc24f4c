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
