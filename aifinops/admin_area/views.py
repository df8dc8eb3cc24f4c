"""Administration in the product: people and their roles, teams and their members, the roles, and
the triage rules with a preview of what a change re-triages. Platform admins only (the ADMINISTER
rule); each write goes through its app's service, which checks the rule again and audits."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from aifinops.core import permissions
from aifinops.core import selectors as core_selectors
from aifinops.core import services as core_services
from aifinops.core.exceptions import ConflictError
from aifinops.core.selectors import audit_events_for
from intake import services as intake_services
from intake.models import TriageRuleCode
from intake.retriage import open_intakes, triage_rules_preview
from intake.selectors import triage_rule_settings
from intake.triage import RuleSetting
from portfolio import selectors as portfolio_selectors
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


def admin_only(view):
    def wrapped(request, *args, **kwargs):
        permissions.require(request.user, permissions.ADMINISTER)
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _errors_onto(form, exc: ValidationError):
    """Put a service's refusal on the form: on the field it names, else on the whole form."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@admin_only
def index(request):
    people = core_selectors.person_list()
    return render(
        request,
        "admin_area/index.html",
        {
            "section": "index",
            "people_active": people.filter(is_active=True).count(),
            "people_inactive": people.filter(is_active=False).count(),
            "team_count": portfolio_selectors.team_list(user=request.user).count(),
            "open_intakes": open_intakes().count(),
        },
    )


# People.


@admin_only
def person_list(request):
    filters = PersonFilterForm(request.GET or None)
    people = core_selectors.person_list(filters=filters.cleaned_data if filters.is_valid() else None)
    rows = [{"person": p, "roles": core_selectors.person_roles(p)} for p in people]
    return render(
        request,
        "admin_area/person_list.html",
        {"section": "people", "filters": filters, "rows": rows},
        status=400 if filters.errors else 200,
    )


@admin_only
def person_invite(request):
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user, link = core_services.person_invite(
                actor=request.user, base_url=request.build_absolute_uri("/"), **form.cleaned_data
            )
        except ValidationError as exc:
            _errors_onto(form, exc)
        else:
            # The link is shown once, here: the email carries the same one.
            return render(
                request, "admin_area/person_invited.html", {"section": "people", "person": user, "link": link}
            )
    return render(
        request,
        "admin_area/person_invite.html",
        {"section": "people", "form": form},
        status=400 if form.is_bound else 200,
    )


def _person_page(request, person, roles_form=None, status=200):
    person = core_selectors.person_get(pk=person.pk)
    roles = core_selectors.person_roles(person)
    return render(
        request,
        "admin_area/person_detail.html",
        {
            "section": "people",
            "person": person,
            "roles": roles,
            "roles_form": roles_form or RolesForm(initial={"roles": roles}),
            "is_self": person.pk == request.user.pk,
            "history": audit_events_for(person),
        },
        status=status,
    )


@admin_only
def person_detail(request, pk):
    return _person_page(request, core_selectors.person_get(pk=pk))


@require_POST
@admin_only
def person_roles(request, pk):
    person = core_selectors.person_get(pk=pk)
    form = RolesForm(request.POST)
    if form.is_valid():
        try:
            core_services.user_roles_set(user=person, roles=form.cleaned_data["roles"], actor=request.user)
        except ValidationError as exc:
            _errors_onto(form, exc)
        else:
            messages.success(request, f"Roles of {person.get_username()} saved.")
            return redirect("admin_area:person_detail", pk=person.pk)
    return _person_page(request, person, roles_form=form, status=400)


def _set_active(request, pk, service, done):
    person = core_selectors.person_get(pk=pk)
    try:
        service(actor=request.user, user=person)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _person_page(request, person, status=400)
    messages.success(request, f"{person.get_username()} {done}.")
    return redirect("admin_area:person_detail", pk=person.pk)


@require_POST
@admin_only
def person_deactivate(request, pk):
    return _set_active(
        request, pk, core_services.person_deactivate, "is deactivated: they can no longer log in"
    )


@require_POST
@admin_only
def person_reactivate(request, pk):
    return _set_active(request, pk, core_services.person_reactivate, "is active again")


# Roles.


@admin_only
def role_list(request):
    return render(
        request, "admin_area/role_list.html", {"section": "roles", "roles": core_selectors.role_list()}
    )


# Teams.


@admin_only
def team_list(request):
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = team_services.team_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _errors_onto(form, exc)
        else:
            messages.success(request, f"Team {team.name} created: add its members.")
            return redirect("admin_area:team_detail", slug=team.slug)
    status = 400 if form.is_bound else 200
    return render(
        request,
        "admin_area/team_list.html",
        {"section": "teams", "teams": portfolio_selectors.team_list(user=request.user), "form": form},
        status=status,
    )


def _team_page(request, team, *, form=None, add_form=None, status=200):
    team = portfolio_selectors.team_get(user=request.user, slug=team.slug)
    fields = ("name", "business_function", "cost_center", "description")
    return render(
        request,
        "admin_area/team_detail.html",
        {
            "section": "teams",
            "team": team,
            "form": form or TeamForm(initial={f: getattr(team, f) for f in fields}),
            "add_form": add_form or MemberAddForm(),
            "role_choices": MemberRoleForm.base_fields["role"].choices,
            "history": audit_events_for(team),
        },
        status=status,
    )


@admin_only
def team_detail(request, slug):
    team = portfolio_selectors.team_get(user=request.user, slug=slug)
    if request.method != "POST":
        return _team_page(request, team)
    form = TeamForm(request.POST)
    if form.is_valid():
        try:
            team_services.team_update(actor=request.user, team=team, **form.cleaned_data)
        except ValidationError as exc:
            _errors_onto(form, exc)
        else:
            messages.success(request, "Team saved.")
            return redirect("admin_area:team_detail", slug=team.slug)
    return _team_page(request, team, form=form, status=400)


@require_POST
@admin_only
def member_add(request, slug):
    team = portfolio_selectors.team_get(user=request.user, slug=slug)
    form = MemberAddForm(request.POST)
    if form.is_valid():
        user = form.cleaned_data["username"]
        if Membership.objects.filter(team=team, user=user).exists():
            form.add_error("username", f"{user.get_username()} is already in {team.name}.")
        else:
            try:
                team_services.membership_add(
                    actor=request.user, team=team, user=user, role=form.cleaned_data["role"]
                )
            except ValidationError as exc:
                _errors_onto(form, exc)
            else:
                messages.success(request, f"{user.get_username()} added to {team.name}.")
                return redirect("admin_area:team_detail", slug=team.slug)
    return _team_page(request, team, add_form=form, status=400)


def _membership(team, pk):
    # A membership of another team is as absent as a missing one.
    return get_object_or_404(Membership.objects.select_related("user"), pk=pk, team=team)


@require_POST
@admin_only
def member_role(request, slug, pk):
    team = portfolio_selectors.team_get(user=request.user, slug=slug)
    membership = _membership(team, pk)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Role: choose member or team lead.")
        return _team_page(request, team, status=400)
    team_services.membership_set_role(
        actor=request.user, membership=membership, role=form.cleaned_data["role"]
    )
    messages.success(
        request, f"{membership.user.get_username()} is now {membership.get_role_display().lower()}."
    )
    return redirect("admin_area:team_detail", slug=team.slug)


@require_POST
@admin_only
def member_remove(request, slug, pk):
    team = portfolio_selectors.team_get(user=request.user, slug=slug)
    membership = _membership(team, pk)
    team_services.membership_remove(actor=request.user, membership=membership)
    messages.success(request, f"{membership.user.get_username()} removed from {team.name}.")
    return redirect("admin_area:team_detail", slug=team.slug)


# Triage rules.


@admin_only
def triage_rule_list(request):
    settings = triage_rule_settings()
    rows = [{"code": code, "label": code.label, "setting": settings[code]} for code in TriageRuleCode]
    return render(
        request,
        "admin_area/triage_rule_list.html",
        {"section": "triage", "rows": rows, "open_intakes": open_intakes().count()},
    )


@admin_only
def triage_rule_edit(request, code):
    """Edit one rule. Preview lists every open intake whose triage the edit would change, and how;
    Save and re-triage carries out that same plan, and only with the preview's fingerprint, so a
    save never does what nobody looked at."""
    if code not in TriageRuleCode.values:
        raise Http404("No such triage rule.")
    code = TriageRuleCode(code)
    current = triage_rule_settings()[code]
    initial = {"enabled": current.enabled, "tier": current.tier, "threshold": current.threshold}
    form = TriageRuleForm(request.POST or None, code=code, initial=initial)
    context = {"section": "triage", "code": code, "current": current, "form": form, "preview": None}
    if request.method != "POST":
        return render(request, "admin_area/triage_rule_edit.html", context)
    if not form.is_valid():
        return render(request, "admin_area/triage_rule_edit.html", context, status=400)
    data = form.cleaned_data
    proposed = RuleSetting(tier=data["tier"], threshold=data.get("threshold"), enabled=data["enabled"])
    edits = {code: proposed}
    status = 200
    if request.POST.get("action") == "save" and data["fingerprint"]:
        try:
            done = intake_services.triage_rules_change(
                actor=request.user, edits=edits, expected_fingerprint=data["fingerprint"]
            )
        except ConflictError as exc:
            messages.warning(request, str(exc))
            status = 409
        else:
            count = f"{len(done)} open intake{'' if len(done) == 1 else 's'}"
            messages.success(request, f"{code.label}: saved; {count} re-triaged.")
            return redirect("admin_area:triage_rule_list")
    changes, fingerprint = triage_rules_preview(edits=edits)
    # The preview's fingerprint travels with the form: Save carries out exactly this preview.
    form = TriageRuleForm({**request.POST.dict(), "fingerprint": fingerprint}, code=code)
    form.is_valid()
    context.update(
        form=form,
        preview=changes,
        open_count=open_intakes().count(),
        unchanged=proposed == current,
    )
    return render(request, "admin_area/triage_rule_edit.html", context, status=status)
