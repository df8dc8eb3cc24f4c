"""The search page (/search/?q=) and its as-you-type dropdown from the header box.

Everyone signed in may search; each kind of record comes from its app's own visibility selector,
so the results are what the user could open anyway. Without JavaScript the header box submits
here and the full page answers; with htmx the box asks for the dropdown fragment.
"""

from urllib.parse import urlencode

from django.shortcuts import render

from . import selectors
from .forms import SearchForm


def search_page(request):
    form = SearchForm(request.GET)
    dropdown = bool(request.htmx)
    if not form.is_valid():
        template = "search/partials/_dropdown.html" if dropdown else "search/search.html"
        return render(request, template, {"form": form, "groups": [], "q": ""}, status=400)
    q, kind, page = form.cleaned_data["q"], form.cleaned_data["kind"], form.cleaned_data["page"] or 1
    if kind:
        limit, offset = selectors.PER_PAGE, (page - 1) * selectors.PER_PAGE
    else:
        limit, offset = selectors.PER_KIND, 0
    groups = selectors.search(user=request.user, q=q, kind=kind or None, limit=limit, offset=offset)
    for group in groups:
        group.see_all = "?" + urlencode({"q": q, "kind": group.kind})
    context = {"form": form, "q": q, "kind": kind, "groups": groups, "page": page}
    if kind and groups:
        group = groups[0]
        if offset + len(group.hits) < group.total:
            context["next_page"] = "?" + urlencode({"q": q, "kind": kind, "page": page + 1})
        if page > 1:
            context["previous_page"] = "?" + urlencode({"q": q, "kind": kind, "page": page - 1})
    template = "search/partials/_dropdown.html" if dropdown else "search/search.html"
    return render(request, template, context)
