"""Pages and htmx fragments for milestones, value signals, cost lines and the optimization backlog."""


def value_context(request, use_case):
    """What the use-case page needs for templates/portfolio/partials/_value_section.html."""
    return {}


urlpatterns = []
