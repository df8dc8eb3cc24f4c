"""API for the internal AI tools register: subscriptions, their seat use, and seat activity imports.

Reads follow the pages (a team's subscriptions for its members, all for cross-team roles); writes
go through the page's form and the same services, so the messages are the same.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from aifinops.core import permissions
from aifinops.core.api.forms import form_data, form_errors, serializer_for_form

from ..models import ToolSubscription
from . import selectors, services
from .forms import SeatActivityForm, SubscriptionForm

CENT = Decimal("0.01")


class SubscriptionSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    use_case = serializers.SlugRelatedField(slug_field="key", read_only=True, allow_null=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    monthly_cost = serializers.SerializerMethodField()
    seats_in_use = serializers.SerializerMethodField()
    unused_seats = serializers.SerializerMethodField()
    cost_per_active_user = serializers.SerializerMethodField()

    class Meta:
        model = ToolSubscription
        fields = [
            "id",
            "vendor",
            "product",
            "team",
            "use_case",
            "owner",
            "seats",
            "price_per_seat",
            "billing_cycle",
            "currency",
            "renewal_date",
            "auto_renews",
            "active",
            "monthly_cost",
            "seats_in_use",
            "unused_seats",
            "cost_per_active_user",
            "seat_activity_imported_at",
        ]
        read_only_fields = fields

    def _found(self, obj):
        return services.utilisation(obj, active=obj.active_seats, holders=obj.holders)

    def get_monthly_cost(self, obj) -> str:
        return str(self._found(obj).monthly_cost.quantize(CENT))

    def get_seats_in_use(self, obj) -> int | None:
        found = self._found(obj)
        return found.active if found.known else None

    def get_unused_seats(self, obj) -> int | None:
        found = self._found(obj)
        return found.unused if found.known else None

    def get_cost_per_active_user(self, obj) -> str | None:
        value = self._found(obj).cost_per_active_user
        return None if value is None else str(value.quantize(CENT))


SubscriptionWriteSerializer = serializer_for_form(
    SubscriptionForm,
    name="SubscriptionWrite",
    required=(
        "vendor",
        "product",
        "team",
        "seats",
        "price_per_seat",
        "billing_cycle",
        "currency",
        "renewal_date",
    ),
)


class SeatActivityUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=str(SeatActivityForm.base_fields["file"].help_text))


class SubscriptionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Tool subscriptions the caller may see, with seats in use and cost per active user."""

    serializer_class = SubscriptionSerializer
    queryset = ToolSubscription.objects.none()
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.subscription_queryset(self.request.user).order_by("renewal_date", "id")

    def _form(self, request, subscription=None):
        body = form_data(request.data, SubscriptionForm)
        data = body.dict() if hasattr(body, "dict") else dict(body)
        if subscription is not None:
            initial = SubscriptionForm.for_subscription(
                subscription, **selectors.subscription_choices(request.user)
            ).initial
            data = {**{k: v for k, v in initial.items() if v is not None}, **data}
        form = SubscriptionForm(data, **selectors.subscription_choices(request.user))
        if not form.is_valid():
            raise ValidationError(form_errors(form))
        return form.cleaned_data

    def _answer(self, obj, code=status.HTTP_200_OK):
        return Response(self.get_serializer(self.get_queryset().get(pk=obj.pk)).data, status=code)

    @extend_schema(request=SubscriptionWriteSerializer, responses={201: SubscriptionSerializer})
    def create(self, request, *args, **kwargs):
        permissions.require(request.user, permissions.REGISTER_TOOLS)
        made = services.subscription_create(actor=request.user, owner=request.user, **self._form(request))
        return self._answer(made, status.HTTP_201_CREATED)

    @extend_schema(request=SubscriptionWriteSerializer, responses=SubscriptionSerializer)
    def partial_update(self, request, *args, **kwargs):
        subscription = self.get_object()
        values = self._form(request, subscription)
        return self._answer(
            services.subscription_update(actor=request.user, subscription=subscription, **values)
        )

    @extend_schema(
        request={"multipart/form-data": SeatActivityUploadSerializer}, responses=SubscriptionSerializer
    )
    @action(detail=True, methods=["post"], url_path="seat-activity", parser_classes=[MultiPartParser])
    def seat_activity(self, request, pk=None):
        """Replace the seat list with the vendor's export (CSV: user, last active), whole or not at all."""
        subscription = self.get_object()
        form = SeatActivityForm(request.POST, request.FILES)
        if not form.is_valid():
            raise ValidationError(form_errors(form))
        services.seat_activity_import(
            actor=request.user, subscription=subscription, uploaded_file=form.cleaned_data["file"]
        )
        return self._answer(subscription)


def register(router):
    router.register("subscriptions", SubscriptionViewSet, basename="api-subscription")
