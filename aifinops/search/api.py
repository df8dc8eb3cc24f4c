"""GET /api/v1/search/?q=: the search page's results as JSON, with the same visibility."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from aifinops.core.api.forms import form_errors, serializer_for_form

from . import selectors
from .forms import SearchForm

SearchQuerySerializer = serializer_for_form(SearchForm, name="SearchQuery")


class SearchHitSerializer(serializers.Serializer):
    title = serializers.CharField()
    context = serializers.CharField()
    url = serializers.CharField(help_text="The page of the record, absolute path.")


class SearchGroupSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=selectors.KINDS)
    label = serializers.CharField()
    total = serializers.IntegerField(help_text="How many records of this kind match, all pages.")
    hits = SearchHitSerializer(many=True)


class SearchResultSerializer(serializers.Serializer):
    q = serializers.CharField()
    results = SearchGroupSerializer(many=True)


class SearchApi(APIView):
    """Use cases, intakes, council items, budgets, teams and models matching `q` that the caller
    may see, grouped by kind: 8 of each kind, or 50 a page of one `kind`."""

    @extend_schema(parameters=[SearchQuerySerializer], responses=SearchResultSerializer)
    def get(self, request):
        form = SearchForm(request.query_params)
        if not form.is_valid():
            raise ValidationError(form_errors(form))
        q, kind, page = form.cleaned_data["q"], form.cleaned_data["kind"], form.cleaned_data["page"] or 1
        if kind:
            limit, offset = selectors.PER_PAGE, (page - 1) * selectors.PER_PAGE
        else:
            limit, offset = selectors.PER_KIND, 0
        groups = selectors.search(user=request.user, q=q, kind=kind or None, limit=limit, offset=offset)
        results = [
            {
                "kind": g.kind,
                "label": g.label,
                "total": g.total,
                "hits": [{k: h[k] for k in ("title", "context", "url")} for h in g.hits],
            }
            for g in groups
        ]
        return Response({"q": q, "results": results})
