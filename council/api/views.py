"""The council's API: meetings and their transitions, agenda items with votes and decisions,
funding requests, decisions, and each meeting's approved spend list (JSON and CSV).

Input is parsed by the pages' forms and written by the same services, with the same permission
predicates: a bad field is 400 naming it, a missing quorum 422, a lost race or a step no longer
allowed 409, someone else's seat 403.
"""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from aifinops.core.api.forms import form_data, form_errors
from aifinops.core.api.permissions import SectionPermission
from portfolio import selectors as portfolio_selectors
from portfolio.gates import rules as gates

from .. import selectors, services
from ..filters import AgendaItemFilter, DecisionFilter, FundingRequestFilter, MeetingFilter
from ..forms import DecisionForm, FundingRequestForm, MeetingCloseForm, VoteForm
from ..models import AgendaItem, Decision, FundingRequest, Meeting
from ..views import approved_spend_csv_response
from .serializers import (
    AgendaBuildSerializer,
    AgendaItemDetailSerializer,
    AgendaItemSerializer,
    ApprovedSpendListSerializer,
    CouncilSerializer,
    DecisionSerializer,
    DecisionWriteSerializer,
    FundingRequestSerializer,
    FundingRequestWriteSerializer,
    MeetingCloseSerializer,
    MeetingSerializer,
    VoteSerializer,
    VoteWriteSerializer,
)

CONFLICT = OpenApiResponse(
    description="The meeting or item changed meanwhile, or the step is no longer allowed (a lost race)."
)


def _valid(form):
    if not form.is_valid():
        raise ValidationError(form_errors(form))
    return form.cleaned_data


def _data(request):
    return request.data if hasattr(request.data, "get") else {}


def _form(request, form_class, **kwargs):
    """The request body read by `form_class`: JSON numbers made text, objects and lists where one
    value is expected refused by field name (a 400, never a crash in the field's parsing)."""
    return form_class(form_data(_data(request), form_class), **kwargs)


def _int_param(request, name):
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    if not value.isdigit():
        raise ValidationError({name: [f"“{value}” is not an id: give a whole number."]})
    return int(value)


class CouncilViewSet(viewsets.ReadOnlyModelViewSet):
    """Councils with their chair and active members."""

    serializer_class = CouncilSerializer
    permission_classes = [SectionPermission]
    section = "council"

    def get_queryset(self):
        return selectors.council_queryset()


class MeetingViewSet(viewsets.ReadOnlyModelViewSet):
    """The council's meetings, newest first (filter with `state` and `council`). The chair moves a
    meeting draft -> published -> in session -> closed with the actions below; `build-agenda`
    gathers the open review triggers into a draft (running it again adds nothing)."""

    serializer_class = MeetingSerializer
    permission_classes = [SectionPermission]
    section = "council"
    lookup_value_regex = "[0-9]+"
    queryset = Meeting.objects.none()
    filterset_class = MeetingFilter

    def get_queryset(self):
        return selectors.meeting_queryset(user=self.request.user).order_by("-scheduled_for", "-id")

    def _meeting(self, meeting):
        return Response(self.get_serializer(self.get_queryset().get(pk=meeting.pk)).data)

    def _built(self, result):
        keys = {
            name: sorted(i.use_case.key for i in getattr(result, name))
            for name in ("created", "extended", "carried")
        }
        # Not get_queryset(): its list filters (?council=, ?state=) are not about the built meeting.
        meeting = selectors.meeting_queryset(user=self.request.user).get(pk=result.meeting.pk)
        return Response(AgendaBuildSerializer({"meeting": meeting, **keys}).data)

    @extend_schema(
        request=None,
        parameters=[
            OpenApiParameter("council", int, description="The council's id; the first one if left out.")
        ],
        responses={200: AgendaBuildSerializer, 409: CONFLICT},
        operation_id="council_meetings_build_next_agenda",
    )
    @action(detail=False, methods=["post"], url_path="build-agenda")
    def build_next_agenda(self, request):
        """Build the agenda of the council's next draft meeting (scheduled per its cadence when there
        is none). `council` (an id) picks the council; the first one otherwise."""
        councils = selectors.council_list()
        wanted = _int_param(request, "council")
        if wanted is None:
            wanted = _data(request).get("council")
        council = (
            next((c for c in councils if str(c.pk) == str(wanted)), None) if wanted is not None else None
        )
        if council is None and wanted is not None:
            raise ValidationError({"council": ["No such council."]})
        council = council or (councils[0] if councils else None)
        if council is None:
            raise ValidationError({"council": ["No council is set up yet."]})
        return self._built(services.agenda_build(actor=request.user, council=council))

    @extend_schema(request=None, responses={200: AgendaBuildSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"], url_path="build-agenda")
    def build_agenda(self, request, pk=None):
        """Build this draft meeting's agenda."""
        return self._built(services.agenda_build(actor=request.user, meeting=self.get_object()))

    @extend_schema(request=None, responses={200: MeetingSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        """Publish the agenda: the review packs are frozen, members and owners told."""
        return self._meeting(services.meeting_publish(actor=request.user, meeting=self.get_object()))

    @extend_schema(request=None, responses={200: MeetingSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        return self._meeting(services.meeting_start(actor=request.user, meeting=self.get_object()))

    @extend_schema(
        request=MeetingCloseSerializer,
        responses={
            200: MeetingSerializer,
            400: OpenApiResponse(
                description="Items have no decision and `confirm` is not true: error.fields.confirm says "
                "which items carry over and to which meeting; nothing changed."
            ),
            409: CONFLICT,
        },
    )
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        """Close the meeting with optional `minutes`. Items without a decision, and deferred ones,
        carry over to the next meeting: when there are any, send `{"confirm": true}`; without it the
        answer is 400 naming `confirm` (with the items and the meeting they go to) and nothing
        changes."""
        data = _valid(_form(request, MeetingCloseForm))
        meeting = services.meeting_close(
            actor=request.user, meeting=self.get_object(), minutes=data["minutes"], confirm=data["confirm"]
        )
        return self._meeting(meeting)

    @extend_schema(responses=ApprovedSpendListSerializer)
    @action(detail=True, methods=["get"], url_path="approved-spend")
    def approved_spend(self, request, pk=None):
        """What the meeting approved, per use case: amount, milestone, conditions; totals per currency."""
        meeting = self.get_object()
        rows = selectors.approved_spend_list(meeting=meeting)
        return Response(
            ApprovedSpendListSerializer(
                {
                    "meeting": meeting.pk,
                    "state": meeting.state,
                    "final": meeting.state == "closed",
                    "totals": selectors.approved_spend_totals(rows),
                    "results": rows,
                }
            ).data
        )

    @extend_schema(
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="Approved spend CSV")}
    )
    @action(detail=True, methods=["get"], url_path="approved-spend/csv")
    def approved_spend_csv(self, request, pk=None):
        """The approved spend list as CSV (cells safe to open in a spreadsheet)."""
        return approved_spend_csv_response(self.get_object())


class AgendaItemViewSet(viewsets.ReadOnlyModelViewSet):
    """Agenda items in agenda order (filter with `meeting`), each with its reasons, tally and
    decision; the detail adds the votes and the review pack. Council members cast their own vote
    (`votes`) while the meeting is in session; the chair records the decision (`decision`) once a
    quorum has voted. Use-case owners see the items of their use cases."""

    lookup_value_regex = "[0-9]+"
    queryset = AgendaItem.objects.none()
    filterset_class = AgendaItemFilter

    def get_serializer_class(self):
        return AgendaItemDetailSerializer if self.action == "retrieve" else AgendaItemSerializer

    def get_queryset(self):
        qs = selectors.agenda_item_queryset(user=self.request.user)
        return qs.order_by("-meeting__scheduled_for", "position", "id")

    def _item(self, item):
        return AgendaItemSerializer(self.get_queryset().get(pk=item.pk)).data

    @extend_schema(request=VoteWriteSerializer, responses={201: VoteSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def votes(self, request, pk=None):
        """Cast (or change) the caller's own vote: `choice` (approve, approve_with_conditions,
        defer, reject, sunset), `comment`, and `conditions` for an approval with conditions."""
        data = _valid(_form(request, VoteForm))
        vote = services.vote_cast(actor=request.user, item=self.get_object(), **data)
        vote = type(vote).objects.select_related("member__user").get(pk=vote.pk)
        return Response(VoteSerializer(vote).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=DecisionWriteSerializer,
        responses={
            201: DecisionSerializer,
            409: CONFLICT,
            422: OpenApiResponse(description="Quorum not met: error.details gives the votes and the quorum."),
        },
    )
    @action(detail=True, methods=["post"])
    def decision(self, request, pk=None):
        """Record the council's decision (the chair, in session, once a quorum has voted). 422 when
        the quorum is not met; 409 when a decision was recorded meanwhile."""
        data = _valid(_form(request, DecisionForm))
        decision = services.decision_record(
            actor=request.user,
            item=self.get_object(),
            outcome=data["outcome"],
            amount=data["amount"],
            conditions=data["conditions"],
            note=data["note"],
            milestone_name=data["milestone_name"],
            period_start=data["period_start"],
            period_end=data["period_end"],
        )
        decision = Decision.objects.select_related("item__use_case", "recorded_by").get(pk=decision.pk)
        return Response(DecisionSerializer(decision).data, status=status.HTTP_201_CREATED)


class DecisionViewSet(viewsets.ReadOnlyModelViewSet):
    """Council decisions, newest first: the decision log. Filter with `use_case` (a key) or
    `meeting`. Owners see the decisions on the use cases they may see."""

    serializer_class = DecisionSerializer
    lookup_value_regex = "[0-9]+"
    queryset = Decision.objects.none()
    filterset_class = DecisionFilter

    def get_queryset(self):
        return selectors.decision_queryset(user=self.request.user).order_by("-recorded_at", "-id")


class FundingRequestViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Funding requests for the next milestone only. The use case's owners create one (it is
    submitted to the council at once); filter with `use_case` (a key) or `status`."""

    serializer_class = FundingRequestSerializer
    lookup_value_regex = "[0-9]+"
    queryset = FundingRequest.objects.none()
    filterset_class = FundingRequestFilter

    def get_queryset(self):
        return selectors.funding_request_queryset(user=self.request.user).order_by("-created_at", "-id")

    @extend_schema(
        request=FundingRequestWriteSerializer, responses={201: FundingRequestSerializer, 409: CONFLICT}
    )
    def create(self, request, *args, **kwargs):
        data = form_data(_data(request), FundingRequestForm)
        key = data.get("use_case")
        if not key or not isinstance(key, str):
            raise ValidationError({"use_case": ["Give the use case's key."]})
        use_case = portfolio_selectors.use_case_queryset(user=request.user).filter(key=key).first()
        if use_case is None:
            raise ValidationError({"use_case": [f"No use case “{key}” that you may see."]})
        form = FundingRequestForm(data, use_case=use_case)
        _valid(form)
        funding = services.funding_request_submit(
            actor=request.user,
            use_case=use_case,
            values=form.service_values(next_stage=gates.next_stage(use_case)),
        )
        funding = get_object_or_404(self.get_queryset(), pk=funding.pk)
        return Response(self.get_serializer(funding).data, status=status.HTTP_201_CREATED)
