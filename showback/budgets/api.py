"""API for budgets, their alerts, budget increase requests and the webhook delivery log.

Lists show what the caller may see (permissions.budget_scope). Input is parsed by the pages' forms
and written by the same services, so the rules and messages match the pages. Finance analysts and
platform admins create and change budgets; a budget's owner, its use case's owners and finance
acknowledge and resolve its alerts; its owner and finance decide increase requests.
"""

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from aifinops.core import permissions
from aifinops.core.api.forms import form_errors, serializer_for_form
from portfolio import selectors as portfolio_selectors
from portfolio.choices import BusinessFunction

from ..models import Budget, BudgetAlert, BudgetIncreaseRequest, WebhookDelivery
from . import selectors, services
from .filters import BudgetAlertFilter, BudgetFilter, BudgetIncreaseRequestFilter
from .forms import AlertNoteForm, BudgetForm, IncreaseDecisionForm


class BudgetStatusSerializer(serializers.Serializer):
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    as_of = serializers.DateField(help_text="The last day of spend the figures include.")
    days_elapsed = serializers.IntegerField()
    days_in_period = serializers.IntegerField()
    actual = serializers.DecimalField(max_digits=18, decimal_places=2, help_text="AI spend this period.")
    remaining = serializers.DecimalField(max_digits=18, decimal_places=2, help_text="Negative when over.")
    burn_rate = serializers.DecimalField(max_digits=18, decimal_places=2, help_text="Per day.")
    projected = serializers.DecimalField(
        max_digits=18, decimal_places=2, help_text="Linear: burn rate times the days in the period."
    )
    used_pct = serializers.DecimalField(max_digits=8, decimal_places=1)
    state = serializers.ChoiceField(choices=["capped", "over", "at_risk", "on_track"])
    capped = serializers.BooleanField()
    complete = serializers.BooleanField(
        help_text="False when spend in another currency had no rate into the budget's on some days: "
        "the figures leave it out (never count it at 1) and `missing_rates` names it."
    )
    missing_rates = serializers.SerializerMethodField(
        help_text="[{currency, amount (as billed), first_day, last_day, days}] without a rate."
    )

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_missing_rates(self, status):
        return [m.as_json() for m in status.missing]


class BudgetSerializer(serializers.ModelSerializer):
    function = serializers.ChoiceField(
        choices=BusinessFunction.choices,
        allow_blank=True,
        read_only=True,
        help_text="Blank unless scope is function.",
    )
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    use_case = serializers.SlugRelatedField(slug_field="key", read_only=True, allow_null=True)
    provider = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    model = serializers.SlugRelatedField(slug_field="ref", read_only=True, allow_null=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    thresholds = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    status = serializers.SerializerMethodField()

    class Meta:
        model = Budget
        fields = [
            "id",
            "name",
            "scope",
            "function",
            "team",
            "use_case",
            "provider",
            "model",
            "customer",
            "tag_key",
            "tag_value",
            "period",
            "amount",
            "currency",
            "mode",
            "thresholds",
            "approval_above_pct",
            "owner",
            "active",
            "status",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(BudgetStatusSerializer(allow_null=True))
    def get_status(self, budget):
        found = self.context.get("statuses", {}).get(budget.pk)
        return BudgetStatusSerializer(found).data if found is not None else None


class BudgetAlertSerializer(serializers.ModelSerializer):
    budget_name = serializers.CharField(source="budget.name", read_only=True)
    acknowledged_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    resolved_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = BudgetAlert
        fields = [
            "id",
            "budget",
            "budget_name",
            "period_start",
            "kind",
            "threshold",
            "actual",
            "projected",
            "amount",
            "currency",
            "status",
            "note",
            "acknowledged_by",
            "acknowledged_at",
            "resolved_by",
            "resolved_at",
            "created_at",
        ]
        read_only_fields = fields


class BudgetIncreaseRequestSerializer(serializers.ModelSerializer):
    budget_name = serializers.CharField(source="budget.name", read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = BudgetIncreaseRequest
        fields = [
            "id",
            "budget",
            "budget_name",
            "period_start",
            "current_amount",
            "requested_amount",
            "currency",
            "reason",
            "status",
            "needs_council",
            "decided_by",
            "decided_at",
            "decision_note",
            "created_at",
        ]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(source="webhook.team", slug_field="slug", read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "team",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "payload",
            "created_at",
            "delivered_at",
        ]
        read_only_fields = fields


BudgetWriteSerializer = serializer_for_form(
    BudgetForm, name="BudgetWrite", required=("name", "scope", "period", "amount", "currency", "mode")
)
BudgetUpdateSerializer = serializer_for_form(BudgetForm, name="BudgetUpdate")
AlertNoteSerializer = serializer_for_form(AlertNoteForm, name="BudgetAlertNote")
IncreaseDecisionSerializer = serializer_for_form(IncreaseDecisionForm, name="BudgetIncreaseDecision")


def _valid(form):
    if not form.is_valid():
        raise ValidationError(form_errors(form))
    return form


def _data(request):
    return request.data if hasattr(request.data, "get") else {}


class BudgetViewSet(
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Budgets the caller may see, each with its current period's figures in `status` (null for an
    inactive budget). Finance analysts and platform admins create (POST) and change (PATCH) them;
    deactivate one with `active: false`."""

    serializer_class = BudgetSerializer
    filterset_class = BudgetFilter
    ordering_fields = ["name", "amount", "created_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    lookup_value_regex = "[0-9]+"
    queryset = Budget.objects.none()

    def get_queryset(self):
        return selectors.budget_queryset(user=self.request.user).order_by("name", "id")

    def _respond(self, budgets, *, many=False, status_code=status.HTTP_200_OK):
        items = budgets if many else [budgets]
        statuses = selectors.budget_statuses([b for b in items if b.active])
        serializer = self.get_serializer(
            budgets, many=many, context={**self.get_serializer_context(), "statuses": statuses}
        )
        return serializer.data if many else Response(serializer.data, status=status_code)

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        if page is not None:
            return self.get_paginated_response(self._respond(page, many=True))
        return Response(self._respond(list(queryset), many=True))

    def retrieve(self, request, *args, **kwargs):
        return self._respond(self.get_object())

    def _reload(self, budget):
        return self.get_queryset().get(pk=budget.pk)

    @extend_schema(request=BudgetWriteSerializer, responses={201: BudgetSerializer})
    def create(self, request, *args, **kwargs):
        permissions.require(request.user, permissions.SET_BUDGETS)
        # A form's unticked checkbox means inactive; an API payload without `active` means active.
        form = _valid(BudgetForm({"active": True, **_data(request)}))
        budget = services.budget_save(actor=request.user, values=form.service_values())
        return self._respond(self._reload(budget), status_code=status.HTTP_201_CREATED)

    @extend_schema(request=BudgetUpdateSerializer, responses=BudgetSerializer)
    def partial_update(self, request, *args, **kwargs):
        budget = self.get_object()
        permissions.require(request.user, permissions.CHANGE_BUDGETS)
        initial = BudgetForm.initial_of(budget)
        data = {**{k: ("" if v is None else v) for k, v in initial.items()}, **_data(request)}
        if isinstance(data.get("thresholds"), list):
            data["thresholds"] = ", ".join(str(t) for t in data["thresholds"])
        form = _valid(BudgetForm(data))
        budget = services.budget_save(actor=request.user, values=form.service_values(), budget=budget)
        return self._respond(self._reload(budget))

    @extend_schema(exclude=True)
    def update(self, request, *args, **kwargs):
        return self.partial_update(request, *args, **kwargs)

    @extend_schema(
        responses=inline_serializer(
            "CappedUseCases",
            {"use_cases": serializers.ListField(child=serializers.CharField(), help_text="Use-case keys.")},
        )
    )
    @action(detail=False, methods=["get"])
    def capped(self, request):
        """The use cases and agents (that the caller may see) whose hard-cap budget is used up."""
        ids = selectors.capped_use_case_ids()
        keys = (
            portfolio_selectors.use_case_queryset(user=request.user)
            .filter(pk__in=ids)
            .order_by("key")
            .values_list("key", flat=True)
        )
        return Response({"use_cases": list(keys)})


class BudgetAlertViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Alerts of the budgets the caller may see, newest first: a threshold crossed (`threshold`) or
    the projection over the amount (`kind=projection`). Acknowledge with an optional note; resolve
    with a note."""

    serializer_class = BudgetAlertSerializer
    filterset_class = BudgetAlertFilter
    ordering_fields = ["created_at", "period_start"]
    lookup_value_regex = "[0-9]+"
    queryset = BudgetAlert.objects.none()

    def get_queryset(self):
        return selectors.alert_queryset(user=self.request.user).order_by("-created_at", "-id")

    def _note(self, request):
        return _valid(AlertNoteForm(_data(request))).cleaned_data["note"]

    @extend_schema(request=AlertNoteSerializer, responses=BudgetAlertSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        alert = services.budget_alert_acknowledge(
            actor=request.user, alert=self.get_object(), note=self._note(request)
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=alert.pk)).data)

    @extend_schema(request=AlertNoteSerializer, responses=BudgetAlertSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        alert = services.budget_alert_resolve(
            actor=request.user, alert=self.get_object(), note=self._note(request)
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=alert.pk)).data)


class BudgetIncreaseRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Requests to raise approval-mode budgets, opened when spend crosses the approval threshold.
    The budget's owner or finance approve (optionally with another `amount`, which becomes the
    budget's amount) or reject (with a `note`). `needs_council` marks requests the council reviews."""

    serializer_class = BudgetIncreaseRequestSerializer
    filterset_class = BudgetIncreaseRequestFilter
    ordering_fields = ["created_at"]
    lookup_value_regex = "[0-9]+"
    queryset = BudgetIncreaseRequest.objects.none()

    def get_queryset(self):
        return selectors.increase_request_queryset(user=self.request.user).order_by("-created_at", "-id")

    @extend_schema(request=IncreaseDecisionSerializer, responses=BudgetIncreaseRequestSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        data = _valid(IncreaseDecisionForm(_data(request))).cleaned_data
        done = services.budget_increase_approve(
            actor=request.user, request=self.get_object(), amount=data["amount"], note=data["note"]
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=done.pk)).data)

    @extend_schema(request=IncreaseDecisionSerializer, responses=BudgetIncreaseRequestSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        data = _valid(IncreaseDecisionForm(_data(request))).cleaned_data
        done = services.budget_increase_reject(
            actor=request.user, request=self.get_object(), note=data["note"]
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=done.pk)).data)


class WebhookDeliveryViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The delivery log of team webhooks, newest first: finance analysts and platform admins."""

    serializer_class = WebhookDeliverySerializer
    queryset = WebhookDelivery.objects.none()

    def get_queryset(self):
        permissions.require(self.request.user, permissions.READ_WEBHOOK_LOG)
        return WebhookDelivery.objects.select_related("webhook__team").order_by("-created_at", "-id")


# The nested prefixes come first.
router = SimpleRouter()
router.register("budgets/alerts", BudgetAlertViewSet, basename="api-budget-alert")
router.register("budgets/increase-requests", BudgetIncreaseRequestViewSet, basename="api-budget-increase")
router.register("budgets/webhook-deliveries", WebhookDeliveryViewSet, basename="api-webhook-delivery")
router.register("budgets", BudgetViewSet, basename="api-budget")

urlpatterns = router.urls
