"""Administration over the API, for integrations (an HR system inviting and deactivating people, an
identity provider syncing roles and teams): people, roles, teams and their members, and the triage
rules with the preview of what an edit re-triages. Platform admins only (ADMINISTER); the same
forms, selectors and audited services as Administration's pages, and the same refusals (yourself,
the last platform admin) as a 400 naming the field.

A triage rule is changed in two steps, as on its page: `preview` answers the open intakes the edit
would re-triage and a fingerprint of that plan; `apply` with that fingerprint carries out exactly
that plan, or answers 409 if the rules or the open intakes changed since the preview.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from aifinops.core import permissions
from aifinops.core import selectors as core_selectors
from aifinops.core import services as core_services
from aifinops.core.api.forms import form_data, form_errors, serializer_for_form
from aifinops.core.api.pagination import StandardPagination
from intake import services as intake_services
from intake.models import TriageRuleCode
from intake.retriage import open_intakes, triage_rules_preview
from intake.selectors import triage_rule_settings
from intake.triage import RuleSetting
from portfolio import selectors as portfolio_selectors
from portfolio.choices import MembershipRole
from portfolio.models import Membership
from portfolio.services import registry as team_services

from .forms import (
    InviteForm,
    MemberAddForm,
    MemberRoleForm,
    PersonFilterForm,
    RolesForm,
    TeamForm,
    TriageRuleForm,
)


class Administer(BasePermission):
    """The ADMINISTER rule, asked before the body is read: others learn nothing of the endpoint."""

    message = permissions.ADMINISTER.message

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and permissions.ADMINISTER(request.user))


class AdminApi(APIView):
    permission_classes = [Administer]


def _body(request):
    return request.data if hasattr(request.data, "get") else {}


def _valid(form_class, request, **kwargs):
    form = form_class(form_data(_body(request), form_class), **kwargs)
    if not form.is_valid():
        raise ValidationError(form_errors(form))
    return form


def _service_errors(exc: DjangoValidationError):
    if hasattr(exc, "error_dict"):
        return ValidationError(exc.message_dict)
    return ValidationError({"non_field_errors": exc.messages})


# People.


def person_json(person):
    return {
        "id": person.pk,
        "username": person.get_username(),
        "email": person.email,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "is_active": person.is_active,
        "roles": core_selectors.person_roles(person),
        "teams": [{"team": m.team.slug, "role": m.role} for m in person.team_memberships.all()],
        "last_login": person.last_login.isoformat() if person.last_login else None,
        "date_joined": person.date_joined.isoformat(),
    }


class MembershipOfPersonSerializer(serializers.Serializer):
    team = serializers.CharField(help_text="The team's slug.")
    role = serializers.CharField()


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.CharField(allow_blank=True)
    first_name = serializers.CharField(allow_blank=True)
    last_name = serializers.CharField(allow_blank=True)
    is_active = serializers.BooleanField()
    roles = serializers.ListField(child=serializers.CharField())
    teams = MembershipOfPersonSerializer(many=True)
    last_login = serializers.DateTimeField(allow_null=True)
    date_joined = serializers.DateTimeField()


PaginatedPersonSerializer = inline_serializer(
    "PaginatedPersonList",
    {
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": PersonSerializer(many=True),
    },
)
InviteSerializer = serializer_for_form(InviteForm, name="PersonInvite", required=("username", "email"))
RolesSerializer = serializer_for_form(RolesForm, name="PersonRoles", required=("roles",))


class PersonListApi(AdminApi):
    """People, filtered as on Administration's page (`q`, `role`, `status`); POST invites one and
    answers the one-time set-password link, shown to the admin this once (it is also emailed)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, description="Username, name or email contains."),
            OpenApiParameter("role", str, description="Holders of this role."),
            OpenApiParameter("status", str, enum=["active", "inactive"]),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses=PaginatedPersonSerializer,
        operation_id="admin_people_list",
    )
    def get(self, request):
        filters = PersonFilterForm(request.query_params)
        if not filters.is_valid():
            raise ValidationError(form_errors(filters))
        paginator = StandardPagination()
        page = paginator.paginate_queryset(
            core_selectors.person_list(filters=filters.cleaned_data), request, view=self
        )
        return paginator.get_paginated_response([person_json(p) for p in page])

    @extend_schema(
        request=InviteSerializer,
        responses={
            201: inline_serializer(
                "PersonInvited",
                {
                    "person": PersonSerializer(),
                    "set_password_link": serializers.CharField(
                        help_text="One-time link for the person to choose a password."
                    ),
                },
            )
        },
    )
    def post(self, request):
        form = _valid(InviteForm, request)
        try:
            user, link = core_services.person_invite(
                actor=request.user, base_url=request.build_absolute_uri("/"), **form.cleaned_data
            )
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None
        body = {"person": person_json(core_selectors.person_get(pk=user.pk)), "set_password_link": link}
        return Response(body, status=status.HTTP_201_CREATED)


class PersonDetailApi(AdminApi):
    @extend_schema(responses=PersonSerializer)
    def get(self, request, pk):
        return Response(person_json(core_selectors.person_get(pk=pk)))


class PersonRolesApi(AdminApi):
    """Give the person exactly these roles (`{"roles": [...]}`; an empty list takes them all). The
    last active platform admin keeps that role: a 400 naming `roles` says so."""

    @extend_schema(request=RolesSerializer, responses=PersonSerializer)
    def post(self, request, pk):
        person = core_selectors.person_get(pk=pk)
        form = _valid(RolesForm, request)
        try:
            core_services.user_roles_set(user=person, roles=form.cleaned_data["roles"], actor=request.user)
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None
        return Response(person_json(core_selectors.person_get(pk=pk)))


def _set_active_api(service, docs):
    class SetActiveApi(AdminApi):
        __doc__ = docs

        @extend_schema(request=None, responses=PersonSerializer)
        def post(self, request, pk):
            person = core_selectors.person_get(pk=pk)
            try:
                service(actor=request.user, user=person)
            except DjangoValidationError as exc:
                raise _service_errors(exc) from None
            return Response(person_json(core_selectors.person_get(pk=pk)))

    return SetActiveApi


PersonDeactivateApi = _set_active_api(
    core_services.person_deactivate,
    "Stop the person logging in (nobody is deleted). Not yourself, nor the last active platform "
    "admin: a 400 naming `is_active` says why.",
)
PersonReactivateApi = _set_active_api(core_services.person_reactivate, "Let the person log in again.")


# Roles.


class RoleSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()
    grants = serializers.CharField(help_text="What the role may do.")
    holders = serializers.ListField(child=serializers.CharField(), help_text="Usernames, active first.")
    inactive_holders = serializers.ListField(child=serializers.CharField())


class RoleListApi(AdminApi):
    """Each role, what it grants, and who holds it."""

    @extend_schema(responses=RoleSerializer(many=True))
    def get(self, request):
        return Response(
            [
                {
                    "value": r["value"],
                    "label": str(r["label"]),
                    "grants": str(r["grants"]),
                    "holders": [u.get_username() for u in r["holders"] if u.is_active],
                    "inactive_holders": [u.get_username() for u in r["holders"] if not u.is_active],
                }
                for r in core_selectors.role_list()
            ]
        )


# Teams and their members.


def member_json(membership):
    return {"id": membership.pk, "username": membership.user.get_username(), "role": membership.role}


def team_json(team, *, members=True):
    body = {
        "slug": team.slug,
        "name": team.name,
        "business_function": team.business_function,
        "cost_center": team.cost_center,
        "description": team.description,
    }
    if members:
        body["members"] = [member_json(m) for m in team.memberships.all()]
    return body


class MemberSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    role = serializers.CharField()


class AdminTeamSummarySerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    business_function = serializers.CharField()
    cost_center = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    member_count = serializers.IntegerField()
    use_case_count = serializers.IntegerField()


class AdminTeamSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    business_function = serializers.CharField()
    cost_center = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    members = MemberSerializer(many=True)


TeamWriteSerializer = serializer_for_form(
    TeamForm, name="TeamWrite", required=("name", "business_function", "cost_center")
)
TeamUpdateSerializer = serializer_for_form(TeamForm, name="TeamUpdate")
MemberAddSerializer = serializer_for_form(MemberAddForm, name="MemberAdd", required=("username",))
MemberRoleSerializer = serializer_for_form(MemberRoleForm, name="MemberRole", required=("role",))


class TeamListApi(AdminApi):
    """Every team; POST creates one (its slug, the web address, comes from the name)."""

    @extend_schema(responses=AdminTeamSummarySerializer(many=True))
    def get(self, request):
        return Response(
            [
                {
                    **team_json(t, members=False),
                    "member_count": t.member_count,
                    "use_case_count": t.use_case_count,
                }
                for t in portfolio_selectors.team_list(user=request.user)
            ]
        )

    @extend_schema(request=TeamWriteSerializer, responses={201: AdminTeamSerializer})
    def post(self, request):
        form = _valid(TeamForm, request)
        try:
            team = team_services.team_create(actor=request.user, **form.cleaned_data)
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None
        team = portfolio_selectors.team_get(user=request.user, slug=team.slug)
        return Response(team_json(team), status=status.HTTP_201_CREATED)


class TeamDetailApi(AdminApi):
    """A team and its members; PATCH renames it or changes its function, cost center or
    description (its slug stays, so links and spend tags keep working)."""

    http_method_names = ["get", "patch", "head", "options"]

    @extend_schema(responses=AdminTeamSerializer)
    def get(self, request, slug):
        return Response(team_json(portfolio_selectors.team_get(user=request.user, slug=slug)))

    @extend_schema(request=TeamUpdateSerializer, responses=AdminTeamSerializer)
    def patch(self, request, slug):
        team = portfolio_selectors.team_get(user=request.user, slug=slug)
        current = {f: getattr(team, f) for f in ("name", "business_function", "cost_center", "description")}
        data = {**current, **form_data(_body(request), TeamForm)}
        form = TeamForm(data)
        if not form.is_valid():
            raise ValidationError(form_errors(form))
        try:
            team_services.team_update(actor=request.user, team=team, **form.cleaned_data)
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None
        return Response(team_json(portfolio_selectors.team_get(user=request.user, slug=slug)))


class MemberListApi(AdminApi):
    """The team's members; POST adds one (`username`, `role`: member or lead)."""

    @extend_schema(responses=MemberSerializer(many=True))
    def get(self, request, slug):
        team = portfolio_selectors.team_get(user=request.user, slug=slug)
        return Response([member_json(m) for m in team.memberships.all()])

    @extend_schema(request=MemberAddSerializer, responses={201: MemberSerializer})
    def post(self, request, slug):
        team = portfolio_selectors.team_get(user=request.user, slug=slug)
        # Left out, the role is a plain member's, as the page's form starts.
        form = MemberAddForm({"role": MembershipRole.MEMBER, **form_data(_body(request), MemberAddForm)})
        if not form.is_valid():
            raise ValidationError(form_errors(form))
        user = form.cleaned_data["username"]
        if Membership.objects.filter(team=team, user=user).exists():
            raise ValidationError({"username": [f"{user.get_username()} is already in {team.name}."]})
        try:
            membership = team_services.membership_add(
                actor=request.user, team=team, user=user, role=form.cleaned_data["role"]
            )
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None
        return Response(member_json(membership), status=status.HTTP_201_CREATED)


class MemberDetailApi(AdminApi):
    """One membership of the team: PATCH `{"role": "lead"}` changes the role, DELETE removes it."""

    http_method_names = ["get", "patch", "delete", "head", "options"]

    def _membership(self, request, slug, pk):
        team = portfolio_selectors.team_get(user=request.user, slug=slug)
        # A membership of another team is as absent as a missing one.
        return get_object_or_404(Membership.objects.select_related("user"), pk=pk, team=team)

    @extend_schema(responses=MemberSerializer)
    def get(self, request, slug, pk):
        return Response(member_json(self._membership(request, slug, pk)))

    @extend_schema(request=MemberRoleSerializer, responses=MemberSerializer)
    def patch(self, request, slug, pk):
        membership = self._membership(request, slug, pk)
        form = _valid(MemberRoleForm, request)
        membership = team_services.membership_set_role(
            actor=request.user, membership=membership, role=form.cleaned_data["role"]
        )
        return Response(member_json(Membership.objects.select_related("user").get(pk=membership.pk)))

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, slug, pk):
        team_services.membership_remove(actor=request.user, membership=self._membership(request, slug, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


# Triage rules.


def _setting_json(setting):
    return {
        "enabled": setting.enabled,
        "tier": setting.tier,
        "threshold": None if setting.threshold is None else str(setting.threshold),
    }


def _change_json(change):
    intake = change.intake
    return {
        "intake": intake.pk,
        "reference": intake.reference,
        "name": intake.name,
        "risk_tier": {"before": change.before["risk_tier"], "after": change.result.risk_tier},
        "review_path": {"before": change.before["review_path"], "after": change.result.review_path},
        "why": change.why,
    }


class TriageRuleSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    enabled = serializers.BooleanField()
    tier = serializers.CharField()
    threshold = serializers.CharField(allow_null=True)


class BeforeAfterSerializer(serializers.Serializer):
    before = serializers.CharField(allow_null=True, allow_blank=True)
    after = serializers.CharField(allow_null=True, allow_blank=True)


class RetriageChangeSerializer(serializers.Serializer):
    intake = serializers.IntegerField()
    reference = serializers.CharField()
    name = serializers.CharField()
    risk_tier = BeforeAfterSerializer()
    review_path = BeforeAfterSerializer()
    why = serializers.ListField(child=serializers.CharField(), help_text="What moved, in words.")


class TriagePreviewSerializer(serializers.Serializer):
    rule = TriageRuleSerializer(help_text="The rule as the edit would leave it.")
    unchanged = serializers.BooleanField(help_text="The edit is the rule as it stands.")
    open_intakes = serializers.IntegerField(help_text="Intakes waiting for a decision.")
    changes = RetriageChangeSerializer(many=True)
    fingerprint = serializers.CharField(help_text="Send it to apply to carry out exactly this plan.")


class TriageApplySerializer(serializers.Serializer):
    rule = TriageRuleSerializer()
    retriaged = RetriageChangeSerializer(many=True)


TriageEditSerializer = serializer_for_form(
    TriageRuleForm,
    name="TriageRuleEdit",
    required=("tier",),
    extra={
        "threshold": serializers.DecimalField(
            max_digits=18,
            decimal_places=6,
            required=False,
            allow_null=True,
            help_text="Required by the threshold rules (an amount in USD a month, or a count).",
        ),
        "fingerprint": serializers.CharField(
            required=False, allow_blank=True, max_length=64, help_text="Ignored by preview."
        ),
    },
)
TriageApplyRequestSerializer = serializer_for_form(
    TriageRuleForm,
    name="TriageRuleApply",
    required=("tier", "fingerprint"),
    extra={
        "threshold": serializers.DecimalField(
            max_digits=18, decimal_places=6, required=False, allow_null=True
        ),
        "fingerprint": serializers.CharField(max_length=64, help_text="The fingerprint of the preview."),
    },
)


def _rule_row(code, setting):
    return {"code": code.value, "label": str(code.label), **_setting_json(setting)}


def _code(code):
    if code not in TriageRuleCode.values:
        raise Http404("No such triage rule.")
    return TriageRuleCode(code)


def _edit(request, code):
    """(code, proposed setting, form) of an edit of the rule, validated by the page's form."""
    code = _code(code)
    data = form_data(_body(request), TriageRuleForm)
    if "enabled" not in data:
        # A form's unticked box means off; a body that does not mention it leaves the rule as it is.
        data = {**{k: data[k] for k in data}, "enabled": triage_rule_settings()[code].enabled}
    form = TriageRuleForm(data, code=code)
    if not form.is_valid():
        raise ValidationError(form_errors(form))
    data = form.cleaned_data
    proposed = RuleSetting(tier=data["tier"], threshold=data.get("threshold"), enabled=data["enabled"])
    return code, proposed, form


class TriageRuleListApi(AdminApi):
    """The triage rules as they stand (a rule never tuned keeps its default)."""

    @extend_schema(responses=TriageRuleSerializer(many=True))
    def get(self, request):
        settings = triage_rule_settings()
        return Response([_rule_row(code, settings[code]) for code in TriageRuleCode])


class TriageRulePreviewApi(AdminApi):
    """What an edit of the rule would do, nothing saved: the open intakes whose triage would change
    and how, and the plan's fingerprint for `apply`."""

    @extend_schema(request=TriageEditSerializer, responses=TriagePreviewSerializer)
    def post(self, request, code):
        code, proposed, _ = _edit(request, code)
        changes, fingerprint = triage_rules_preview(edits={code: proposed})
        current = triage_rule_settings()[code]
        return Response(
            {
                "rule": _rule_row(code, proposed),
                "unchanged": proposed == current,
                "open_intakes": open_intakes().count(),
                "changes": [_change_json(c) for c in changes],
                "fingerprint": fingerprint,
            }
        )


class TriageRuleApplyApi(AdminApi):
    """Save the edit and re-triage the open intakes of its preview, given that preview's
    `fingerprint`: 409 (nothing saved) if the rules or the open intakes changed since."""

    @extend_schema(request=TriageApplyRequestSerializer, responses=TriageApplySerializer)
    def post(self, request, code):
        code, proposed, form = _edit(request, code)
        if not form.cleaned_data.get("fingerprint"):
            raise ValidationError({"fingerprint": ["Preview the edit first and send its fingerprint."]})
        try:
            done = intake_services.triage_rules_change(
                actor=request.user,
                edits={code: proposed},
                expected_fingerprint=form.cleaned_data["fingerprint"],
            )
        except DjangoValidationError as exc:
            raise _service_errors(exc) from None
        return Response(
            {
                "rule": _rule_row(code, triage_rule_settings()[code]),
                "retriaged": [_change_json(c) for c in done],
            }
        )


urlpatterns = [
    path("admin/people/", PersonListApi.as_view(), name="api-admin-person-list"),
    path("admin/people/<int:pk>/", PersonDetailApi.as_view(), name="api-admin-person-detail"),
    path("admin/people/<int:pk>/roles/", PersonRolesApi.as_view(), name="api-admin-person-roles"),
    path(
        "admin/people/<int:pk>/deactivate/", PersonDeactivateApi.as_view(), name="api-admin-person-deactivate"
    ),
    path(
        "admin/people/<int:pk>/reactivate/", PersonReactivateApi.as_view(), name="api-admin-person-reactivate"
    ),
    path("admin/roles/", RoleListApi.as_view(), name="api-admin-role-list"),
    path("admin/teams/", TeamListApi.as_view(), name="api-admin-team-list"),
    path("admin/teams/<slug:slug>/", TeamDetailApi.as_view(), name="api-admin-team-detail"),
    path("admin/teams/<slug:slug>/members/", MemberListApi.as_view(), name="api-admin-member-list"),
    path(
        "admin/teams/<slug:slug>/members/<int:pk>/", MemberDetailApi.as_view(), name="api-admin-member-detail"
    ),
    path("admin/triage-rules/", TriageRuleListApi.as_view(), name="api-admin-triage-rule-list"),
    path(
        "admin/triage-rules/<slug:code>/preview/",
        TriageRulePreviewApi.as_view(),
        name="api-admin-triage-rule-preview",
    ),
    path(
        "admin/triage-rules/<slug:code>/apply/",
        TriageRuleApplyApi.as_view(),
        name="api-admin-triage-rule-apply",
    ),
]
