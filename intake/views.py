from django.shortcuts import render

from portfolio import selectors as portfolio_selectors


def index(request):
    """Intake: the use cases of the user's teams, newest first."""
    use_cases = portfolio_selectors.use_case_queryset(user=request.user).order_by("-created_at")[:25]
    return render(request, "intake/index.html", {"use_cases": use_cases})
