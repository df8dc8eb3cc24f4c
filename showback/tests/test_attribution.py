"""Attribution rules: given spend and rules, then which use case, team and customer it belongs to."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from aifinops.core.models import AuditEvent
from portfolio.tests.factories import ProviderFactory, UseCaseFactory
from showback.attribution.engine import Attributor, Facts, normalise_tags
from showback.attribution.services import spend_reattribute
from showback.models import AttributionRule, DailySpend, SpendRecord

from .focus_files import focus_csv, focus_rows

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued_tasks_run")]


def _rule(**fields):
    defaults = {"name": "r", "match_field": "sub_account", "match_value": "acct-0", "priority": 10}
    return AttributionRule.objects.create(**{**defaults, **fields})


def _facts(**kwargs):
    return Facts(tags=normalise_tags(kwargs.pop("tags", {})), **kwargs)


def test_rules_apply_in_priority_order_and_the_first_match_decides(cast):
    _rule(priority=20, match_value="acct-*", use_case=cast.use_case_b, customer="globex")
    _rule(priority=10, match_value="acct-7", use_case=cast.use_case_a)

    found = Attributor().attribute(_facts(sub_account="acct-7"))

    assert found.use_case == cast.use_case_a
    assert found.team == cast.team_a
    assert found.customer == "globex"  # only the later rule assigns a customer


def test_tag_rules_ignore_key_case_and_stray_spaces(cast):
    _rule(match_field="tag", match_key=" Project ", match_value="helpdesk", team=cast.team_b)

    found = Attributor().attribute(_facts(tags={"PROJECT  ": "helpdesk"}))

    assert found.team == cast.team_b
    assert found.use_case is None


def test_without_a_rule_the_tags_attribute(cast):
    found = Attributor().attribute(
        _facts(tags={"AI-Use-Case": "support-summarizer", "litellm.end_user": "acme-corp"})
    )

    assert (found.use_case, found.team, found.customer) == (cast.use_case_a, cast.team_a, "acme-corp")
    assert found.by == ["tag:use_case", "use_case"]


def test_imported_rows_are_attributed_by_rules(cast, tmp_path):
    ProviderFactory(slug="aws-bedrock", name="AWS Bedrock")
    UseCaseFactory(team=cast.team_a, key="bedrock-bot", name="Bedrock bot")
    _rule(match_value="acct-0", use_case=cast.use_case_a)
    path = tmp_path / "bill.csv"
    path.write_bytes(focus_csv(focus_rows(6, use_cases=("unknown-key",))))

    call_command("import_spend", str(path), stdout=io.StringIO())

    records = SpendRecord.objects.all()
    assert {r.use_case for r in records} == {cast.use_case_a}
    assert all(r.attributed_by.startswith("rule:") for r in records)


def test_saving_a_rule_on_the_page_reattributes_history_with_an_audit_trail(login, cast, tmp_path):
    ProviderFactory(slug="aws-bedrock", name="AWS Bedrock")
    path = tmp_path / "bill.csv"
    path.write_bytes(focus_csv(focus_rows(8, use_cases=("nobody",))))
    call_command("import_spend", str(path), stdout=io.StringIO())
    assert not SpendRecord.objects.filter(use_case__isnull=False).exists()

    response = login(cast.finance).post(
        reverse("showback:rule_list"),
        {
            "priority": "5",
            "name": "Bedrock account 0",
            "enabled": "on",
            "match_field": "sub_account",
            "match_key": "",
            "match_value": "acct-0",
            "use_case": "campaign-writer",
        },
    )

    assert response.status_code == 302
    assert SpendRecord.objects.filter(use_case=cast.use_case_b).count() == 8
    assert DailySpend.objects.filter(use_case=cast.use_case_b).exists()
    assert AuditEvent.objects.filter(action="attribution_rule.create").exists()
    assert AuditEvent.objects.get(action="attribution.reattribute").after == {"records_changed": 8}

    rule = AttributionRule.objects.get()
    login(cast.finance).post(reverse("showback:rule_delete", args=[rule.pk]))

    assert not SpendRecord.objects.filter(use_case__isnull=False).exists()
    assert not DailySpend.objects.filter(use_case__isnull=False).exists()


def test_reattribution_keeps_non_ai_spend_out_of_ai_spend(cast):
    # Given the demo's cloud spend (not AI), a FOCUS line outside the AI category and gateway usage,
    # which names no category
    day = datetime.datetime(2026, 10, 1, tzinfo=datetime.UTC)
    common = {"charge_period_start": day, "charge_period_end": day + datetime.timedelta(days=1)}
    compute = SpendRecord.objects.create(
        source="demo", source_row_key="ec2", service_category="Compute", is_ai=False, **common
    )
    storage = SpendRecord.objects.create(
        source="focus", source_row_key="s3", service_category="Storage", is_ai=False, **common
    )
    gateway = SpendRecord.objects.create(source="gateway", source_row_key="gw", is_ai=True, **common)

    # When a rule change re-attributes history
    spend_reattribute()

    # Then what was not AI spend is still not, and the gateway's usage still is
    for record in (compute, storage, gateway):
        record.refresh_from_db()
    assert (compute.is_ai, storage.is_ai, gateway.is_ai) == (False, False, True)


def test_a_rule_must_assign_something_and_a_tag_rule_needs_its_key(login, cast):
    response = login(cast.finance).post(
        reverse("showback:rule_list"),
        {"priority": "5", "name": "empty", "match_field": "tag", "match_key": "", "match_value": "x"},
    )

    form = response.context["form"]
    assert form.errors["match_key"] == ["A tag rule needs the tag key, e.g. project or ai-use-case."]
    assert "Choose what the rule assigns" in form.non_field_errors()[0]
    assert not AttributionRule.objects.exists()


def test_unattributed_page_lists_sources_with_a_prefilled_rule_and_shadow_ai(login, cast, tmp_path):
    ProviderFactory(slug="aws-bedrock", name="AWS Bedrock")
    path = tmp_path / "bill.csv"
    # spend of the last days: the page looks back 90 days from today
    recent = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0) - datetime.timedelta(days=10)
    path.write_bytes(focus_csv(focus_rows(4, use_cases=("nobody",), start=recent)))
    call_command("import_spend", str(path), stdout=io.StringIO())
    client = login(cast.finance)

    page = client.get(reverse("showback:unattributed"))
    prefilled = client.get(
        reverse("showback:rule_list"), {"match_field": "sub_account", "match_value": "acct-0"}
    )

    assert page.status_code == 200
    assert b"acct-0" in page.content
    assert b"Make a rule" in page.content
    assert prefilled.context["form"]["match_value"].value() == "acct-0"


@pytest.mark.parametrize(
    ("param", "value"),
    [("end", "9999-12-31"), ("start", "9999-12-31"), ("end", "0001-01-01"), ("start", "2200-01-01")],
)
def test_an_unattributed_period_bound_past_the_calendar_is_a_400_naming_it(login, cast, param, value):
    # 9999-12-31 plus a day overflowed the date arithmetic: a 500
    page = login(cast.finance).get(reverse("showback:unattributed"), {param: value})

    assert page.status_code == 400
    assert f"“{param}” must be a date from 1900-01-01 to 2199-12-31" in page.text


def test_only_finance_and_admins_keep_rules(login, cast):
    assert login(cast.requester_a).get(reverse("showback:rule_list")).status_code == 403
    assert login(cast.requester_a).get(reverse("showback:unattributed")).status_code == 403
