"""Pages and htmx fragments for stage gates: checklist items, guardrails, approvals, moves."""


def stage_context(request, use_case):
    """What the use-case page needs for templates/portfolio/partials/_stage_section.html."""
    return {}


urlpatterns = []
