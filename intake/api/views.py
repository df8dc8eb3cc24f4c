from django.core.exceptions import ValidationError
from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from aifinops.core import permissions
from aifinops.core.api.forms import form_data, form_errors

from .. import selectors, services
from ..filters import IntakeFilter
from ..forms import DRAFT, SUBMIT, IntakeForm
from ..models import IntakeRequest
from .serializers import DecisionSerializer, IntakeSerializer, IntakeWriteSerializer, RejectSerializer


def _api_errors(form):
    """The form's messages, with tag fields named as the API sends them (tags.<key>)."""
    return {
        (f"tags.{field[4:]}" if field.startswith("tag_") else field): messages
        for field, messages in form_errors(form).items()
    }


def _instance_data(intake):
    """The stored values of a draft in the API's input shape, so PATCH can send only changes."""
    data = {name: getattr(intake, name) for name in IntakeForm.Meta.fields if hasattr(intake, name)}
    data["team"] = intake.team.slug
    data["business_owner"] = intake.business_owner.username if intake.business_owner else ""
    data["technical_owner"] = intake.technical_owner.username if intake.technical_owner else ""
    data["ai_models"] = [m.ref for m in intake.ai_models.all()]
    data["tags"] = dict(intake.tags or {})
    return {k: ("" if v is None else v) for k, v in data.items()}


class IntakeViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Intakes: create a draft (or submit at once with `"submit": true`), update a draft, submit,
    withdraw; accept or reject a triaged intake (platform admins and the council chair).

    Input is validated by the same form as the page, so the messages are the same.
    """

    serializer_class = IntakeSerializer
    filterset_class = IntakeFilter
    ordering_fields = ["created_at", "updated_at", "name"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    queryset = IntakeRequest.objects.none()

    def get_queryset(self):
        return (
            selectors.intake_queryset(user=self.request.user)
            .prefetch_related("ai_models")
            .order_by("-created_at", "-id")
        )

    def _save(self, request, intake=None):
        data = dict(form_data(request.data, IntakeForm)) if hasattr(request.data, "keys") else {}
        submit = bool(data.pop("submit", False))
        if intake is not None:
            permissions.require(request.user, permissions.EDIT_INTAKE, intake)
            data = {**_instance_data(intake), **data}
        form = IntakeForm(data, instance=intake, user=request.user, mode=SUBMIT if submit else DRAFT)
        if not form.is_valid():
            raise ValidationError(_api_errors(form))
        with transaction.atomic():
            intake = services.intake_save(actor=request.user, values=form.cleaned_data, intake=intake)
            if submit:
                intake = services.intake_submit(actor=request.user, intake=intake)
        return intake

    @extend_schema(request=IntakeWriteSerializer, responses={201: IntakeSerializer})
    def create(self, request, *args, **kwargs):
        permissions.require(request.user, permissions.CREATE_INTAKE)
        intake = self._save(request)
        return Response(self._read(intake), status=status.HTTP_201_CREATED)

    @extend_schema(request=IntakeWriteSerializer, responses=IntakeSerializer)
    def partial_update(self, request, *args, **kwargs):
        intake = self._save(request, intake=self.get_object())
        return Response(self._read(intake))

    @extend_schema(exclude=True)
    def update(self, request, *args, **kwargs):
        return self.partial_update(request, *args, **kwargs)

    @extend_schema(request=None, responses=IntakeSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        intake = services.intake_submit(actor=request.user, intake=self.get_object())
        return Response(self._read(intake))

    @extend_schema(request=DecisionSerializer, responses=IntakeSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        note = self._note(request)
        return Response(
            self._read(services.intake_withdraw(actor=request.user, intake=self.get_object(), note=note))
        )

    @extend_schema(request=DecisionSerializer, responses=IntakeSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        note = self._note(request)
        return Response(
            self._read(services.intake_accept(actor=request.user, intake=self.get_object(), note=note))
        )

    @extend_schema(
        request=RejectSerializer,
        responses={
            200: IntakeSerializer,
            400: OpenApiResponse(
                description="No `note` (the reason), or `confirm` not true: the field is named and "
                "nothing changed; error.fields.confirm says what rejecting does."
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Reject a triaged intake with `note`, the reason its requester and owners are told. It
        closes the intake for good: send `{"confirm": true}` (400 naming `confirm` without it)."""
        serializer = RejectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        intake = services.intake_reject(
            actor=request.user, intake=self.get_object(), reason=data.get("note", ""), confirm=data["confirm"]
        )
        return Response(self._read(intake))

    def _note(self, request):
        serializer = DecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data.get("note", "")

    def _read(self, intake):
        intake = self.get_queryset().get(pk=intake.pk)
        return IntakeSerializer(intake, context=self.get_serializer_context()).data
