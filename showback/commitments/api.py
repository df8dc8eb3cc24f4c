"""Commitments over the API: the list and each commitment with the figures its page shows (use,
coverage, saving, month by month, the cost amortised to use cases), entry by hand and the FOCUS 1.3
contract-commitment import. The same selectors, form, importer and services as the pages; finance
analysts and platform admins only (SEE_COMMITMENTS, RECORD_COMMITMENTS).

The import takes the file as multipart (`provider`, `file`), or the CSV itself as a `text/csv`
body with `?provider=<slug>`.
"""

from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import BaseParser, DataAndFiles, FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from aifinops.core import permissions
from aifinops.core.api.forms import form_data, form_errors, serializer_for_form
from aifinops.core.api.pagination import StandardPagination
from aifinops.core.api.parsers import JSONObjectParser, text_problem, unstorable_fields

from . import selectors, services
from .forms import MAX_UPLOAD, CommitmentForm, CommitmentImportForm
from .importer import CommitmentFileError, rows_from_csv

RATIO = Decimal("0.000001")


class CommitmentApiForm(CommitmentForm):
    """The hand-entry form, naming the provider by its slug and the models by their keys, as the
    rest of the API does."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].to_field_name = "slug"
        self.fields["models_covered"].to_field_name = "key"


class CommitmentImportApiForm(CommitmentImportForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].to_field_name = "slug"


class CsvBodyParser(BaseParser):
    """A `text/csv` body is the file itself, as if uploaded as `file`."""

    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read(MAX_UPLOAD + 1) if stream is not None else b""
        return DataAndFiles({}, {"file": SimpleUploadedFile("body.csv", body, content_type="text/csv")})


def _money(value):
    return None if value is None else str(Decimal(value).quantize(RATIO))


def _totals(t):
    return {
        "committed": _money(t.committed),
        "covered_usage": _money(t.draw),
        "used": _money(t.used),
        "waste": _money(t.waste),
        "saving": _money(t.saving),
        "utilisation": _money(t.utilisation),
        "coverage": _money(t.coverage),
    }


def _amortised(view, parts):
    return [
        {"use_case": view.use_cases[k].key if k in view.use_cases else None, "amount": _money(v)}
        for k, v in sorted(parts.items(), key=lambda item: -item[1])
    ]


def commitment_json(view, *, months=True):
    """One commitment as the API gives it: the figures of its page, from its CommitmentView."""
    c = view.commitment
    rows, waste = view.amortised_rows()
    body = {
        "id": c.pk,
        "name": c.name,
        "provider": c.provider.slug,
        "service_name": c.service_name,
        "models_covered": sorted(m.key for m in c.models_covered.all()),
        "category": c.category,
        "term_start": c.term_start.isoformat(),
        "term_end": c.term_end.isoformat(),
        "committed_amount": _money(c.committed_amount),
        "capacity_units": _money(c.capacity_units),
        "capacity_unit": c.capacity_unit,
        "unit_price": _money(c.unit_price),
        "currency": c.currency,
        "billing": c.billing,
        "source": c.source,
        "contract_id": c.contract_id,
        "commitment_id": c.commitment_id,
        "total_cost": _money(c.total_cost),
        "to_date": _totals(view.totals_to_date),
        "amortised_to_date": [
            {"use_case": uc.key if uc else None, "amount": _money(amount)} for uc, amount in rows
        ],
        "waste_to_date": _money(waste),
    }
    if months:
        body["months"] = [
            {
                "month": m.month.isoformat(),
                "state": state,
                "committed": _money(m.committed),
                "covered_usage": _money(m.draw),
                "used": _money(m.used),
                "utilisation": _money(m.utilisation),
                "coverage": _money(m.coverage),
                "saving": _money(m.saving),
                "billed_under_it": _money(m.linked_billed),
                "amortised": _amortised(view, {k: v for k, v in m.amortised.items() if k != "waste"}),
                "waste": _money(m.waste),
            }
            for m, state in view.month_rows()
        ]
    return body


def _amount(**kwargs):
    return serializers.CharField(allow_null=True, **kwargs)


class CommitmentTotalsSerializer(serializers.Serializer):
    committed = _amount(help_text="The cost of the term's complete months.")
    covered_usage = _amount(help_text="What the covered usage drew on the commitment.")
    used = _amount()
    waste = _amount(help_text="Paid for and not used.")
    saving = _amount(help_text="On-demand value of the usage that ran under it, minus its cost.")
    utilisation = _amount(help_text="used / committed, 0 to 1; null without cost.")
    coverage = _amount(help_text="Share of the covered usage that ran under it; null without usage.")


class AmortisedPartSerializer(serializers.Serializer):
    use_case = serializers.CharField(allow_null=True, help_text="The use case's key; null: unattributed.")
    amount = _amount()


class CommitmentMonthSerializer(serializers.Serializer):
    month = serializers.DateField()
    state = serializers.ChoiceField(choices=["done", "current", "to come"])
    committed = _amount()
    covered_usage = _amount()
    used = _amount()
    utilisation = _amount()
    coverage = _amount()
    saving = _amount()
    billed_under_it = _amount(help_text="Billed on bill rows naming the commitment (FOCUS).")
    amortised = AmortisedPartSerializer(many=True)
    waste = _amount()


class CommitmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    provider = serializers.CharField(help_text="The provider's slug.")
    service_name = serializers.CharField(allow_blank=True)
    models_covered = serializers.ListField(child=serializers.CharField(), help_text="Model keys.")
    category = serializers.CharField(help_text="spend or usage (capacity).")
    term_start = serializers.DateField()
    term_end = serializers.DateField(help_text="The term's last day, included.")
    committed_amount = _amount()
    capacity_units = _amount()
    capacity_unit = serializers.CharField(allow_blank=True)
    unit_price = _amount()
    currency = serializers.CharField()
    billing = serializers.CharField()
    source = serializers.CharField()
    contract_id = serializers.CharField(allow_blank=True)
    commitment_id = serializers.CharField(allow_blank=True)
    total_cost = _amount()
    to_date = CommitmentTotalsSerializer(help_text="The term's complete months, as the pages show them.")
    amortised_to_date = AmortisedPartSerializer(many=True)
    waste_to_date = _amount()


class CommitmentDetailSerializer(CommitmentSerializer):
    months = CommitmentMonthSerializer(many=True)


class PaginatedCommitmentSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = CommitmentSerializer(many=True)


CommitmentWriteSerializer = serializer_for_form(
    CommitmentApiForm,
    name="CommitmentWrite",
    required=("name", "provider", "category", "term_start", "term_end", "currency", "billing"),
)


class CommitmentImportSerializer(serializers.Serializer):
    provider = serializers.CharField(help_text="The provider's slug: whom the file's commitments are with.")
    file = serializers.FileField(help_text="The FOCUS 1.3 contract-commitment CSV.")


class CommitmentImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()


def _request_data(request):
    """The body as the form reads it; text PostgreSQL cannot store (NUL) is refused by field here,
    since a form-encoded body does not pass the JSON parser's checks."""
    data = request.data if hasattr(request.data, "get") else {}
    if hasattr(data, "getlist"):
        problems = unstorable_fields({key: data.getlist(key) for key in data})
        if problems:
            raise ValidationError({key.split("[")[0]: message for key, message in problems.items()})
    return data


class CommitmentListApi(APIView):
    """Every commitment, with its use to date as the commitments page shows it; POST records one
    entered by hand (the page's form and service)."""

    parser_classes = [JSONObjectParser, FormParser, MultiPartParser]

    @extend_schema(
        parameters=[OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses=PaginatedCommitmentSerializer,
        operation_id="commitments_list",
    )
    def get(self, request):
        permissions.require(request.user, permissions.SEE_COMMITMENTS)
        paginator = StandardPagination()
        page = paginator.paginate_queryset(selectors.commitment_list(), request, view=self)
        return paginator.get_paginated_response([commitment_json(v, months=False) for v in page])

    @extend_schema(request=CommitmentWriteSerializer, responses={201: CommitmentDetailSerializer})
    def post(self, request):
        permissions.require(request.user, permissions.RECORD_COMMITMENTS)
        form = CommitmentApiForm(form_data(_request_data(request), CommitmentApiForm))
        if not form.is_valid():
            raise ValidationError(form_errors(form))
        data = dict(form.cleaned_data)
        models_covered = data.pop("models_covered", [])
        commitment = services.commitment_create(actor=request.user, models_covered=models_covered, **data)
        view = selectors.commitment_get(pk=commitment.pk)
        return Response(commitment_json(view), status=status.HTTP_201_CREATED)


class CommitmentDetailApi(APIView):
    """One commitment as its page shows it: month by month, coverage, saving, amortisation."""

    @extend_schema(responses=CommitmentDetailSerializer)
    def get(self, request, pk):
        permissions.require(request.user, permissions.SEE_COMMITMENTS)
        return Response(commitment_json(selectors.commitment_get(pk=pk)))


class CommitmentImportApi(APIView):
    """Import a FOCUS 1.3 contract-commitment file, all or nothing, as the commitments page does: a
    commitment imported before (same ContractCommitmentId) is updated. Multipart (`provider`,
    `file`), or the CSV as a `text/csv` body with `?provider=<slug>`. A bad file is a 400 whose
    `error.details` names each bad line and column."""

    parser_classes = [MultiPartParser, FormParser, CsvBodyParser]

    @extend_schema(
        request={"multipart/form-data": CommitmentImportSerializer},
        responses={201: CommitmentImportResultSerializer},
    )
    def post(self, request):
        permissions.require(request.user, permissions.RECORD_COMMITMENTS)
        provider = request.data.get("provider") or request.query_params.get("provider", "")
        problem = text_problem(provider) if isinstance(provider, str) else None
        if problem:
            raise ValidationError({"provider": [problem]})
        if not isinstance(provider, str):
            raise ValidationError({"provider": ["Give the provider's slug."]})
        form = CommitmentImportApiForm({"provider": provider}, request.FILES)
        if not form.is_valid():
            raise ValidationError(form_errors(form))
        upload = form.cleaned_data["file"]
        try:
            result = services.commitments_import(
                actor=request.user,
                rows=rows_from_csv(upload),
                provider=form.cleaned_data["provider"],
                source_name=upload.name,
            )
        except CommitmentFileError as exc:
            raise ValidationError(
                {"file": [f"Line {p.line}, {p.column or 'file'}: {p.message}" for p in exc.problems]}
            ) from None
        return Response(result, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("commitments/", CommitmentListApi.as_view(), name="api-commitment-list"),
    path("commitments/import/", CommitmentImportApi.as_view(), name="api-commitment-import"),
    path("commitments/<int:pk>/", CommitmentDetailApi.as_view(), name="api-commitment-detail"),
]
