"""Finance's attribution rules, the spend no rule or tag attributes yet, and mapping its tags."""

import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from aifinops.core import permissions
from portfolio.models import Team, UseCase

from ..models import AttributionRule
from . import selectors
from .forms import AttributionRuleForm
from .services import attribution_rule_delete, attribution_rule_save, tag_mapping_apply

MAX_TEXT = 255
MAX_MAPPINGS = 200


def _check(request):
    permissions.require(request.user, permissions.KEEP_ATTRIBUTION_RULES)


class BadParameter(ValueError):
    pass


def _text(params, name, *, max_length=MAX_TEXT):
    raw = params.get(name, "")
    if "\x00" in raw or any(0xD800 <= ord(c) <= 0xDFFF for c in raw):
        raise BadParameter(f"“{name}” holds a character no bill holds (NUL or a lone surrogate).")
    if len(raw) > max_length:
        raise BadParameter(f"“{name}” is longer than {max_length} characters.")
    return raw.strip()


BOUND_YEARS = (1900, 2199)


def _date(params, name):
    raw = _text(params, name, max_length=20)
    if not raw:
        return None
    try:
        day = datetime.date.fromisoformat(raw)
    except ValueError:
        raise BadParameter(f"“{name}” must be a date as YYYY-MM-DD; “{raw}” is not.") from None
    # A bound of the period, so it may lie beyond the years spend can carry ("until 2100-01-01"), but
    # not where date arithmetic overflows (9999-12-31 plus a day).
    if not BOUND_YEARS[0] <= day.year <= BOUND_YEARS[1]:
        raise BadParameter(
            f"“{name}” must be a date from {BOUND_YEARS[0]}-01-01 to {BOUND_YEARS[1]}-12-31; “{raw}” is not."
        )
    return day


def _scope(params):
    """The unattributed spend to look at, from ?start=&end=&import=&ai=; the last 90 days of AI
    spend when none is given."""
    raw_import = _text(params, "import", max_length=20)
    import_id = None
    if raw_import:
        if not raw_import.isascii() or not raw_import.isdigit() or not 0 < int(raw_import) < 2**63:
            raise BadParameter(f"“import” must be an import's number; “{raw_import}” is not.")
        import_id = int(raw_import)
    start, end = _date(params, "start"), _date(params, "end")
    if start and end and start > end:
        raise BadParameter("“start” is after “end”.")
    ai_only = (params.get("ai") or "ai") != "all"
    if not (start or end or import_id):
        default = selectors.Scope.default()
        start, end = default.start, default.end
    return selectors.Scope(start=start, end=end, import_id=import_id, ai_only=ai_only)


def _scope_query(scope):
    params = {"ai": "ai" if scope.ai_only else "all"}
    if scope.start:
        params["start"] = scope.start.isoformat()
    if scope.end:
        params["end"] = scope.end.isoformat()
    if scope.import_id:
        params["import"] = scope.import_id
    return params


def _scope_context(scope):
    return {
        "scope": scope,
        "scope_query": urlencode(_scope_query(scope)),
        "import_name": selectors.import_name(import_id=scope.import_id) if scope.import_id else "",
    }


def rule_list(request, pk=None):
    """The rules in priority order, and a form to add one (prefilled by "make a rule from this")."""
    _check(request)
    rule = get_object_or_404(AttributionRule, pk=pk) if pk else None
    if request.method == "POST":
        form = AttributionRuleForm(request.POST, instance=rule)
        if form.is_valid():
            attribution_rule_save(actor=request.user, values=dict(form.cleaned_data), rule=rule)
            messages.success(request, "Rule saved. Past spend is being re-attributed with it.")
            return redirect("showback:rule_list")
    else:
        form = AttributionRuleForm(instance=rule, initial=request.GET.dict() if rule is None else None)
    return render(
        request,
        "showback/rules.html",
        {"form": form, "rule": rule, "rules": selectors.attribution_rule_list()},
    )


@require_POST
def rule_delete(request, pk):
    _check(request)
    attribution_rule_delete(actor=request.user, rule=get_object_or_404(AttributionRule, pk=pk))
    messages.success(request, "Rule deleted. Past spend is being re-attributed without it.")
    return redirect("showback:rule_list")


def unattributed(request):
    """Spend no use case owns, in a period or one import: its biggest sources and the tag keys it
    carries, to make rules from, and shadow AI by team."""
    _check(request)
    try:
        scope = _scope(request.GET)
    except BadParameter as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    return render(
        request,
        "showback/unattributed.html",
        {
            **_scope_context(scope),
            "sources": selectors.unattributed_sources(scope=scope),
            "shadow": selectors.shadow_ai(scope=scope),
            "tag_keys": selectors.unattributed_tag_keys(scope=scope),
        },
    )


def _mappings(post, values):
    """[(value, team, use case)] from the form's rows map-<n>-value / -team / -use_case, only the
    rows that map to something; BadParameter names the field at fault."""
    rows = []
    n = 0
    while f"map-{n}-value" in post:
        if n >= MAX_MAPPINGS:
            raise BadParameter(f"Map at most {MAX_MAPPINGS} values at a time.")
        rows.append(
            (
                n,
                _text(post, f"map-{n}-value"),
                _text(post, f"map-{n}-team", max_length=100),
                _text(post, f"map-{n}-use_case", max_length=100),
            )
        )
        n += 1
    teams = {t.slug: t for t in Team.objects.filter(slug__in=[r[2] for r in rows if r[2]])}
    use_cases = {u.key: u for u in UseCase.objects.filter(key__in=[r[3] for r in rows if r[3]])}
    seen, mappings = set(), []
    for n, value, team_slug, use_case_key in rows:
        if not (team_slug or use_case_key):
            continue
        if not value:
            raise BadParameter(f"“map-{n}-value” is empty: choose a tag value to map.")
        if value in seen:
            raise BadParameter(f"“map-{n}-value”: the value “{value}” is mapped twice.")
        seen.add(value)
        if team_slug and team_slug not in teams:
            raise BadParameter(f"“map-{n}-team”: there is no team “{team_slug}”.")
        if use_case_key and use_case_key not in use_cases:
            raise BadParameter(f"“map-{n}-use_case”: there is no use case “{use_case_key}”.")
        mappings.append((value, teams.get(team_slug), use_cases.get(use_case_key)))
    return mappings


def tag_mapping(request):
    """Map each value of one tag key on unattributed spend to a team or use case: a preview of the
    spend each rule would attribute, then the rules made and spend re-attributed in one step."""
    _check(request)
    params = request.POST if request.method == "POST" else request.GET
    try:
        scope = _scope(request.GET)
        key = _text(params, "key", max_length=150).lower()
        if not key:
            raise BadParameter("“key” is required: the tag key whose values to map.")
        mappings = _mappings(request.POST, None) if request.method == "POST" else []
    except BadParameter as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    action = request.POST.get("action", "preview")
    if request.method == "POST" and action == "apply" and mappings:
        rules, attributed = tag_mapping_apply(actor=request.user, key=key, mappings=mappings)
        rows = sum(a["rows"] for a in attributed.values())
        messages.success(
            request,
            f"{len(rules)} rule{'s' if len(rules) != 1 else ''} made from the tag “{key}”; "
            f"{rows:,} spend row{'s' if rows != 1 else ''} attributed with them.",
        )
        return redirect(f"{reverse('showback:unattributed')}?{urlencode(_scope_query(scope))}")
    chosen = {value: (team, use_case) for value, team, use_case in mappings}
    preview = {}
    if request.method == "POST" and mappings:
        unsaved = []
        for i, (value, team, use_case) in enumerate(mappings, start=1):
            rule = AttributionRule(
                pk=-i, match_field="tag", match_key=key, match_value=value, team=team, use_case=use_case
            )
            unsaved.append(rule)
        found = selectors.tag_mapping_preview(key=key, rules=unsaved)
        preview = {rule.match_value: found[rule.pk] for rule in unsaved}
    values = selectors.unattributed_tag_values(key=key, scope=scope)
    for v in values:
        team, use_case = chosen.get(v["value"], (None, None))
        v["team"] = team.slug if team else ""
        v["use_case"] = use_case.key if use_case else ""
        v["preview"] = preview.get(v["value"])
    return render(
        request,
        "showback/tag_mapping.html",
        {
            **_scope_context(scope),
            "key": key,
            "values": values,
            "previewed": bool(preview),
            "teams": Team.objects.order_by("name").only("slug", "name"),
            "use_cases": UseCase.objects.order_by("name").only("key", "name"),
        },
    )
