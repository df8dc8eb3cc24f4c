"""API for milestones, value signals, cost lines and the optimization backlog.

Lists show the rows of the use cases the caller may see; filter one use case with
`?use_case=<key>`. Input is parsed by the page's forms and written by the same services, so the
rules and the messages are the same as on the use-case page; only a use case's owners (and platform
admins) may write.
"""

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from aifinops.core import permissions
from aifinops.core.api.forms import form_data, form_errors

from .. import selectors
from ..choices import CostCategory, Level, OptimizationLever
from ..filters import CostLineFilter, MilestoneFilter, OptimizationFilter, ValueSignalFilter
from ..models import CostLine, Milestone, OptimizationItem, ValueSignal
from . import services
from .forms import (
    CURRENCIES,
    EFFORT_CHOICES,
    CostLineForm,
    MilestoneForm,
    OptimizationForm,
    ValueSignalForm,
)


class _UseCaseKey(serializers.SlugRelatedField):
    def __init__(self, **kwargs):
        super().__init__(slug_field="key", read_only=True, **kwargs)


class MilestoneSerializer(serializers.ModelSerializer):
    use_case = _UseCaseKey()
    target_stage = serializers.CharField(
        read_only=True, help_text="The stage the milestone leads to (a use-case stage), or blank."
    )

    class Meta:
        model = Milestone
        fields = ["id", "use_case", "name", "target_stage", "due_date", "status", "closed_at", "created_at"]
        read_only_fields = fields


class ValueSignalSerializer(serializers.ModelSerializer):
    use_case = _UseCaseKey()

    class Meta:
        model = ValueSignal
        fields = [
            "id",
            "use_case",
            "month",
            "outcomes",
            "value_per_outcome",
            "currency",
            "quality_score",
            "active_users",
            "human_review_rate",
            "acceptance_rate",
            "note",
            "updated_at",
        ]
        read_only_fields = fields


class CostLineSerializer(serializers.ModelSerializer):
    use_case = _UseCaseKey()

    class Meta:
        model = CostLine
        fields = ["id", "use_case", "month", "category", "amount", "currency", "note", "updated_at"]
        read_only_fields = fields


class OptimizationItemSerializer(serializers.ModelSerializer):
    use_case = _UseCaseKey()
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    effort = serializers.ChoiceField(choices=EFFORT_CHOICES, read_only=True)

    class Meta:
        model = OptimizationItem
        fields = [
            "id",
            "use_case",
            "title",
            "lever",
            "expected_monthly_savings",
            "realised_monthly_savings",
            "currency",
            "value_impact",
            "risk",
            "effort",
            "owner",
            "status",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


# The write serializers only describe the input for the schema; the forms parse it and the services
# judge it. Stages and statuses stay plain strings here: they are enums of the read serializers.


def _money(**kwargs):
    return serializers.DecimalField(max_digits=18, decimal_places=6, min_value=0, **kwargs)


def _rate(help_text):
    return serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        min_value=0,
        max_value=100,
        required=False,
        allow_null=True,
        help_text=help_text,
    )


class MilestoneUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=150, required=False)
    target_stage = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="The stage it leads to: concept, mvp, pilot, launch, scale or sunset; blank for none.",
    )
    due_date = serializers.DateField(
        required=False, help_text="Today or later; only a pending milestone's moves."
    )


class MilestoneWriteSerializer(MilestoneUpdateSerializer):
    use_case = serializers.CharField(help_text="The key of the use case, e.g. support-summarizer.")
    name = serializers.CharField(max_length=150)
    due_date = serializers.DateField(help_text="Today or later.")


class ValueSignalWriteSerializer(serializers.Serializer):
    use_case = serializers.CharField(help_text="The key of the use case, e.g. support-summarizer.")
    month = serializers.CharField(help_text="YYYY-MM, the current month or an earlier one.")
    outcomes = serializers.IntegerField(min_value=0, help_text="Outcomes against the success metric.")
    value_per_outcome = _money(
        required=False, allow_null=True, help_text="In the use case's currency; blank takes the use case's."
    )
    quality_score = _rate("0 to 100.")
    active_users = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    human_review_rate = _rate("Percent of outcomes a person reviewed.")
    acceptance_rate = _rate("Percent of outcomes accepted.")
    note = serializers.CharField(max_length=250, required=False, allow_blank=True)


class CostLineWriteSerializer(serializers.Serializer):
    use_case = serializers.CharField(help_text="The key of the use case, e.g. support-summarizer.")
    month = serializers.CharField(help_text="YYYY-MM, the current month or an earlier one.")
    category = serializers.ChoiceField(choices=CostCategory.choices)
    amount = _money(help_text="In the use case's currency.")
    note = serializers.CharField(max_length=250, required=False, allow_blank=True)


class OptimizationUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=150, required=False)
    lever = serializers.ChoiceField(choices=OptimizationLever.choices, required=False)
    expected_monthly_savings = _money(required=False)
    currency = serializers.ChoiceField(
        choices=CURRENCIES, required=False, help_text="Default: the use case's."
    )
    value_impact = serializers.CharField(max_length=250, required=False, allow_blank=True)
    risk = serializers.ChoiceField(choices=Level.choices, required=False)
    effort = serializers.ChoiceField(choices=EFFORT_CHOICES, required=False)
    owner = serializers.CharField(required=False, allow_null=True, allow_blank=True, help_text="A username.")
    status = serializers.CharField(
        required=False,
        help_text="proposed, in_progress, done or rejected; done is final, rejected may be proposed again.",
    )
    realised_monthly_savings = _money(
        required=False, allow_null=True, help_text="Required to mark an item done; only done items have it."
    )


class OptimizationWriteSerializer(OptimizationUpdateSerializer):
    use_case = serializers.CharField(help_text="The key of the use case, e.g. support-summarizer.")
    title = serializers.CharField(max_length=150)
    lever = serializers.ChoiceField(choices=OptimizationLever.choices)
    expected_monthly_savings = _money()


def _payload(request, form_class):
    body = form_data(request.data, form_class) if hasattr(request.data, "items") else {}
    return {k: v for k, v in body.items() if k != "use_case"}


def _valid(form):
    if not form.is_valid():
        raise ValidationError(form_errors(form))
    return form.service_values()


def _require_manager(user, use_case):
    permissions.require(user, permissions.CHANGE_USE_CASE_RECORD, use_case)


class _ValueRecordViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    model = None

    def get_queryset(self):
        visible = selectors.use_case_queryset(user=self.request.user).values("pk")
        return self.model.objects.filter(use_case__in=visible).select_related("use_case")

    def _use_case(self, request):
        """The use case named by `use_case` in the body: visible to the caller, and theirs to change."""
        key = request.data.get("use_case") if hasattr(request.data, "get") else None
        use_case = None
        # A NUL character cannot be compared with PostgreSQL text: such a key names no use case.
        if isinstance(key, str) and key and "\x00" not in key:
            use_case = selectors.use_case_queryset(user=request.user).filter(key=key).first()
        if use_case is None:
            raise ValidationError(
                {"use_case": "Name a use case you can see by its key, e.g. support-summarizer."}
            )
        _require_manager(request.user, use_case)
        return use_case

    def _answer(self, obj, status_code=status.HTTP_200_OK):
        obj = self.get_queryset().get(pk=obj.pk)
        return Response(self.get_serializer(obj).data, status=status_code)


class MilestoneViewSet(mixins.UpdateModelMixin, _ValueRecordViewSet):
    """Milestones of the use cases the caller may see: create, rename or move a pending one's due
    date, mark met (which resets the count of consecutive misses) or missed. Pending milestones past
    their due date are marked missed by a scheduled task."""

    model = Milestone
    serializer_class = MilestoneSerializer
    filterset_class = MilestoneFilter
    ordering_fields = ["due_date", "created_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    queryset = Milestone.objects.none()

    def get_queryset(self):
        return super().get_queryset().order_by("use_case__key", "due_date", "id")

    @extend_schema(request=MilestoneWriteSerializer, responses={201: MilestoneSerializer})
    def create(self, request, *args, **kwargs):
        use_case = self._use_case(request)
        values = _valid(MilestoneForm(_payload(request, MilestoneForm)))
        milestone = services.milestone_create(actor=request.user, use_case=use_case, **values)
        return self._answer(milestone, status.HTTP_201_CREATED)

    @extend_schema(request=MilestoneUpdateSerializer, responses=MilestoneSerializer)
    def partial_update(self, request, *args, **kwargs):
        milestone = self.get_object()
        _require_manager(request.user, milestone.use_case)
        form = MilestoneForm.for_milestone(milestone)
        values = _valid(
            MilestoneForm.for_milestone(milestone, {**form.initial, **_payload(request, MilestoneForm)})
        )
        return self._answer(services.milestone_update(actor=request.user, milestone=milestone, **values))

    @extend_schema(exclude=True)
    def update(self, request, *args, **kwargs):
        return self.partial_update(request, *args, **kwargs)

    @extend_schema(request=None, responses=MilestoneSerializer)
    @action(detail=True, methods=["post"])
    def met(self, request, pk=None):
        milestone = services.milestone_mark_met(actor=request.user, milestone=self.get_object())
        return self._answer(milestone)

    @extend_schema(request=None, responses=MilestoneSerializer)
    @action(detail=True, methods=["post"])
    def missed(self, request, pk=None):
        milestone = services.milestone_mark_missed(actor=request.user, milestone=self.get_object())
        return self._answer(milestone)


class ValueSignalViewSet(mixins.CreateModelMixin, _ValueRecordViewSet):
    """Monthly value signals: outcomes, value per outcome, quality, active users, human review and
    acceptance rates. POST records a month; posting the same month again replaces its figures."""

    model = ValueSignal
    serializer_class = ValueSignalSerializer
    filterset_class = ValueSignalFilter
    ordering_fields = ["month"]
    queryset = ValueSignal.objects.none()

    def get_queryset(self):
        return super().get_queryset().order_by("use_case__key", "-month", "id")

    @extend_schema(request=ValueSignalWriteSerializer, responses={201: ValueSignalSerializer})
    def create(self, request, *args, **kwargs):
        use_case = self._use_case(request)
        values = _valid(ValueSignalForm(_payload(request, ValueSignalForm)))
        signal = services.value_signal_record(actor=request.user, use_case=use_case, **values)
        return self._answer(signal, status.HTTP_201_CREATED)


class CostLineViewSet(mixins.CreateModelMixin, mixins.DestroyModelMixin, _ValueRecordViewSet):
    """Monthly costs beyond the model bill (prompt engineering, evaluation, safety and compliance,
    observability, human review, enablement, platform operations). POST records one month and
    category; posting it again replaces the amount. DELETE removes a line."""

    model = CostLine
    serializer_class = CostLineSerializer
    filterset_class = CostLineFilter
    ordering_fields = ["month", "amount"]
    queryset = CostLine.objects.none()

    def get_queryset(self):
        return super().get_queryset().order_by("use_case__key", "-month", "category")

    @extend_schema(request=CostLineWriteSerializer, responses={201: CostLineSerializer})
    def create(self, request, *args, **kwargs):
        use_case = self._use_case(request)
        values = _valid(CostLineForm(_payload(request, CostLineForm)))
        line = services.cost_line_record(actor=request.user, use_case=use_case, **values)
        return self._answer(line, status.HTTP_201_CREATED)

    def destroy(self, request, *args, **kwargs):
        services.cost_line_delete(actor=request.user, cost_line=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class OptimizationViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, _ValueRecordViewSet):
    """The optimization backlog of the use cases the caller may see; filter on use_case, lever,
    status and team. Status moves proposed → in progress → done or rejected (a rejected item may be
    proposed again); realised savings are given when, and only when, an item is done."""

    model = OptimizationItem
    serializer_class = OptimizationItemSerializer
    filterset_class = OptimizationFilter
    ordering_fields = ["expected_monthly_savings", "realised_monthly_savings", "created_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    queryset = OptimizationItem.objects.none()

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .select_related("use_case__team", "owner")
            .order_by(*selectors.backlog_order())
        )

    @extend_schema(request=OptimizationWriteSerializer, responses={201: OptimizationItemSerializer})
    def create(self, request, *args, **kwargs):
        use_case = self._use_case(request)
        data = _payload(request, OptimizationForm)
        people = selectors.people_for_choice(usernames=[data.get("owner")])
        values = _valid(OptimizationForm(data, people=people))
        item = services.optimization_create(actor=request.user, use_case=use_case, **values)
        return self._answer(item, status.HTTP_201_CREATED)

    @extend_schema(request=OptimizationUpdateSerializer, responses=OptimizationItemSerializer)
    def partial_update(self, request, *args, **kwargs):
        item = self.get_object()
        _require_manager(request.user, item.use_case)
        initial = OptimizationForm.for_item(item).initial
        data = {
            k: ("" if v is None else v) for k, v in {**initial, **_payload(request, OptimizationForm)}.items()
        }
        people = selectors.people_for_choice(usernames=[data.get("owner")])
        values = _valid(OptimizationForm.for_item(item, data, people=people))
        return self._answer(services.optimization_update(actor=request.user, item=item, **values))

    @extend_schema(exclude=True)
    def update(self, request, *args, **kwargs):
        return self.partial_update(request, *args, **kwargs)


def register(router):
    """Add this module's viewsets to the portfolio router."""
    router.register("milestones", MilestoneViewSet, basename="api-milestone")
    router.register("value-signals", ValueSignalViewSet, basename="api-value-signal")
    router.register("cost-lines", CostLineViewSet, basename="api-cost-line")
    router.register("optimizations", OptimizationViewSet, basename="api-optimization")
