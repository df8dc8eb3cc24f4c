"""The triage table: given an intake's facts and the rules' settings, then its tier, path and reasons.

`triage()` is pure, so the table runs without a database; one test at the end shows that the rules
tuned in the TriageRule table are the ones a submitted intake is triaged with.
"""

from dataclasses import replace
from decimal import Decimal

import pytest

from intake import services
from intake.forms import SUBMIT, IntakeForm
from intake.models import IntakeStatus, ReviewPath, TriageRule, TriageRuleCode
from intake.selectors import triage_rule_settings
from intake.triage import IntakeFacts, ModelFacts, RuleSetting, default_rule_settings, triage
from portfolio.choices import ModelStatus, ModelTier, RiskTier

C = TriageRuleCode
MID = ModelFacts("GPT-4.1 mini", ModelTier.MID, ModelStatus.APPROVED)
FRONTIER = ModelFacts("GPT-4.1", ModelTier.FRONTIER, ModelStatus.APPROVED)
SMALL = ModelFacts("GPT-4.1 nano", ModelTier.SMALL, ModelStatus.APPROVED)
EMBEDDING = ModelFacts("text-embedding-3-large", ModelTier.EMBEDDING, ModelStatus.APPROVED)

BASELINE = IntakeFacts(
    user_audience="internal",
    data_classification="internal",
    personal_data=False,
    autonomy_level="assistive",
    expected_monthly_cost=Decimal("100"),
    models=(MID,),
    task_kind="drafting",
)


def facts(**changes):
    """The baseline low-risk intake with a few facts changed."""
    return replace(BASELINE, **changes)


def rules(**settings):
    """The default rules with some replaced, e.g. rules(customer_facing=RuleSetting(...))."""
    return {**default_rule_settings(), **{C(code): setting for code, setting in settings.items()}}


def codes(result):
    return [r.code for r in result.reasons]


def test_baseline_low_risk_intake_is_fast_tracked_with_no_reasons():
    result = triage(BASELINE, default_rule_settings())

    assert result.risk_tier == RiskTier.LOW
    assert result.review_path == ReviewPath.FAST_TRACK
    assert result.reasons == []
    assert result.warnings == []


@pytest.mark.parametrize(
    "changes",
    [
        {"data_classification": "public"},
        {"autonomy_level": "human_in_the_loop"},
        {"external_actions": True},
        {"expected_monthly_cost": None},
        {"expected_monthly_cost": Decimal("5000")},
        {"unlisted_model": ""},
    ],
    ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()),
)
def test_facts_that_carry_no_risk_keep_the_intake_fast_tracked(changes):
    result = triage(facts(**changes), default_rule_settings())

    assert result.risk_tier == RiskTier.LOW
    assert result.review_path == ReviewPath.FAST_TRACK
    assert result.reasons == []


# code: (facts that make it fire alone, the tier it gives, words a person reads in the reason)
EACH_RULE = {
    C.CUSTOMER_FACING: ({"customer_impact": "customer_facing"}, RiskTier.HIGH, ["Customer-facing"]),
    C.INDIRECT_CUSTOMER_IMPACT: (
        {"customer_impact": "indirect"},
        RiskTier.MEDIUM,
        ["Indirect customer impact"],
    ),
    C.EXTERNAL_USERS: ({"user_audience": "external"}, RiskTier.MEDIUM, ["outside the company"]),
    C.RESTRICTED_DATA: ({"data_classification": "restricted"}, RiskTier.HIGH, ["Restricted data"]),
    C.CONFIDENTIAL_DATA: ({"data_classification": "confidential"}, RiskTier.MEDIUM, ["Confidential data"]),
    C.PERSONAL_DATA: ({"personal_data": True}, RiskTier.MEDIUM, ["Personal data"]),
    C.SUPERVISED_AGENT: ({"autonomy_level": "supervised_agent"}, RiskTier.MEDIUM, ["Supervised agent"]),
    C.AUTONOMOUS_AGENT: (
        {"autonomy_level": "autonomous_agent"},
        RiskTier.HIGH,
        ["Autonomous agent", "without a person approving"],
    ),
    C.AGENT_EXTERNAL_ACTIONS: (
        {"autonomy_level": "supervised_agent", "external_actions": True},
        RiskTier.HIGH,
        ["Agent with external actions", "supervision"],
    ),
    C.AUTONOMOUS_EXTERNAL_ACTIONS: (
        {"autonomy_level": "autonomous_agent", "external_actions": True},
        RiskTier.CRITICAL,
        ["Autonomous agent with external actions"],
    ),
    C.COST_ABOVE_THRESHOLD: (
        {"expected_monthly_cost": Decimal("5001")},
        RiskTier.MEDIUM,
        ["above $5,000 a month", "$5,001 expected"],
    ),
    C.COST_ABOVE_HIGH_THRESHOLD: (
        {"expected_monthly_cost": Decimal("60000")},
        RiskTier.HIGH,
        ["above $50,000 a month", "$60,000 expected"],
    ),
    C.UNLISTED_MODEL: (
        {"unlisted_model": "Cohere Command R+"},
        RiskTier.MEDIUM,
        ["Unlisted model", "Cohere Command R+", "not in the catalog"],
    ),
    C.RESTRICTED_MODEL: (
        {"models": (ModelFacts("o3-pro", ModelTier.REASONING, ModelStatus.RESTRICTED),)},
        RiskTier.MEDIUM,
        ["restricted in the catalog", "o3-pro"],
    ),
}


def test_the_table_covers_every_rule_that_fires_on_its_own():
    assert set(EACH_RULE) == set(C) - {C.COMBINED_HIGH_RISKS}


@pytest.mark.parametrize(("code", "case"), EACH_RULE.items(), ids=[str(c) for c in EACH_RULE])
def test_each_rule_alone_gives_its_reason_and_tier_and_needs_review(code, case):
    changes, tier, words = case

    result = triage(facts(**changes), default_rule_settings())

    assert codes(result) == [code]
    assert result.risk_tier == tier
    assert result.reasons[0].tier == tier
    assert result.review_path == ReviewPath.REVIEW
    for word in words:
        assert word in result.reasons[0].text


def test_users_inside_and_outside_the_company_count_as_external():
    result = triage(facts(user_audience="both"), default_rule_settings())

    assert codes(result) == [C.EXTERNAL_USERS]


@pytest.mark.parametrize("cost", [Decimal("10"), Decimal("7500")])
def test_cost_in_another_currency_is_reviewed_rather_than_compared_with_usd_thresholds(cost):
    result = triage(facts(expected_monthly_cost=cost, currency="EUR"), default_rule_settings())

    assert codes(result) == [C.COST_ABOVE_THRESHOLD]
    assert result.reasons[0].text == (
        "Expected cost is in EUR; the cost thresholds are in USD, so it cannot be compared without review."
    )
    assert result.review_path == ReviewPath.REVIEW


@pytest.mark.parametrize(
    ("changes", "only"),
    [
        ({"data_classification": "restricted"}, C.RESTRICTED_DATA),
        ({"autonomy_level": "autonomous_agent", "external_actions": True}, C.AUTONOMOUS_EXTERNAL_ACTIONS),
        ({"autonomy_level": "supervised_agent", "external_actions": True}, C.AGENT_EXTERNAL_ACTIONS),
        ({"expected_monthly_cost": Decimal("50001")}, C.COST_ABOVE_HIGH_THRESHOLD),
        ({"customer_impact": "customer_facing"}, C.CUSTOMER_FACING),
    ],
    ids=["restricted-not-confidential", "autonomous-external", "supervised-external", "high-cost", "facing"],
)
def test_the_stronger_form_of_a_factor_does_not_also_count_as_the_weaker(changes, only):
    result = triage(facts(**changes), default_rule_settings())

    assert codes(result) == [only]


@pytest.mark.parametrize(
    ("cost", "expected"),
    [
        (Decimal("5000"), []),
        (Decimal("5000.01"), [C.COST_ABOVE_THRESHOLD]),
        (Decimal("50000"), [C.COST_ABOVE_THRESHOLD]),
        (Decimal("50000.01"), [C.COST_ABOVE_HIGH_THRESHOLD]),
    ],
    ids=str,
)
def test_cost_fires_only_strictly_above_a_threshold(cost, expected):
    result = triage(facts(expected_monthly_cost=cost), default_rule_settings())

    assert codes(result) == expected


def test_tier_is_the_highest_of_the_reasons():
    result = triage(
        facts(customer_impact="customer_facing", data_classification="confidential"), default_rule_settings()
    )

    assert codes(result) == [C.CUSTOMER_FACING, C.CONFIDENTIAL_DATA]
    assert result.risk_tier == RiskTier.HIGH


def test_several_medium_reasons_stay_medium():
    result = triage(
        facts(user_audience="external", personal_data=True, unlisted_model="Mistral Large"),
        default_rule_settings(),
    )

    assert len(result.reasons) == 3
    assert result.risk_tier == RiskTier.MEDIUM


def test_three_high_risk_factors_together_make_it_critical():
    result = triage(
        facts(
            customer_impact="customer_facing",
            data_classification="restricted",
            autonomy_level="autonomous_agent",
        ),
        default_rule_settings(),
    )

    assert codes(result) == [C.CUSTOMER_FACING, C.RESTRICTED_DATA, C.AUTONOMOUS_AGENT, C.COMBINED_HIGH_RISKS]
    assert result.risk_tier == RiskTier.CRITICAL
    assert result.reasons[-1].text == "3 high-risk factors together."


def test_a_critical_factor_counts_among_the_high_ones():
    result = triage(
        facts(
            customer_impact="customer_facing",
            data_classification="restricted",
            autonomy_level="autonomous_agent",
            external_actions=True,
        ),
        default_rule_settings(),
    )

    assert C.COMBINED_HIGH_RISKS in result.codes


def test_two_high_risk_factors_stay_high():
    result = triage(
        facts(customer_impact="customer_facing", data_classification="restricted"), default_rule_settings()
    )

    assert C.COMBINED_HIGH_RISKS not in result.codes
    assert result.risk_tier == RiskTier.HIGH


def test_a_disabled_rule_does_not_fire():
    tuned = rules(customer_facing=RuleSetting(tier=RiskTier.HIGH, enabled=False))

    result = triage(facts(customer_impact="customer_facing"), tuned)

    assert result.reasons == []
    assert result.review_path == ReviewPath.FAST_TRACK


def test_a_rule_tuned_to_low_still_lists_its_reason_but_keeps_the_fast_track():
    tuned = rules(personal_data=RuleSetting(tier=RiskTier.LOW))

    result = triage(facts(personal_data=True), tuned)

    assert codes(result) == [C.PERSONAL_DATA]
    assert result.reasons[0].tier == RiskTier.LOW
    assert result.risk_tier == RiskTier.LOW
    assert result.review_path == ReviewPath.FAST_TRACK


def test_a_rule_tuned_up_raises_the_tier():
    tuned = rules(personal_data=RuleSetting(tier=RiskTier.CRITICAL))

    result = triage(facts(personal_data=True), tuned)

    assert result.risk_tier == RiskTier.CRITICAL


def test_a_lowered_cost_threshold_fires_sooner_and_says_so():
    tuned = rules(cost_above_threshold=RuleSetting(tier=RiskTier.MEDIUM, threshold=Decimal("1000")))

    result = triage(facts(expected_monthly_cost=Decimal("1500")), tuned)

    assert codes(result) == [C.COST_ABOVE_THRESHOLD]
    assert "above $1,000 a month" in result.reasons[0].text


def test_with_the_high_cost_rule_disabled_the_review_threshold_still_applies():
    tuned = rules(
        cost_above_high_threshold=RuleSetting(tier=RiskTier.HIGH, threshold=Decimal("50000"), enabled=False)
    )

    result = triage(facts(expected_monthly_cost=Decimal("60000")), tuned)

    assert codes(result) == [C.COST_ABOVE_THRESHOLD]
    assert result.risk_tier == RiskTier.MEDIUM


@pytest.mark.parametrize(
    ("disabled", "changes", "weaker"),
    [
        (C.RESTRICTED_DATA, {"data_classification": "restricted"}, C.CONFIDENTIAL_DATA),
        (
            C.AUTONOMOUS_EXTERNAL_ACTIONS,
            {"autonomy_level": "autonomous_agent", "external_actions": True},
            C.AUTONOMOUS_AGENT,
        ),
        (
            C.AGENT_EXTERNAL_ACTIONS,
            {"autonomy_level": "supervised_agent", "external_actions": True},
            C.SUPERVISED_AGENT,
        ),
    ],
    ids=["restricted-data", "autonomous-external", "supervised-external"],
)
def test_disabling_the_stronger_rule_leaves_the_weaker_one_in_force(disabled, changes, weaker):
    tuned = rules(**{disabled: RuleSetting(tier=default_rule_settings()[disabled].tier, enabled=False)})

    result = triage(facts(**changes), tuned)

    assert codes(result) == [weaker]
    assert result.review_path == ReviewPath.REVIEW


def test_a_lowered_combined_threshold_makes_two_high_factors_critical():
    tuned = rules(combined_high_risks=RuleSetting(tier=RiskTier.CRITICAL, threshold=Decimal("2")))

    result = triage(facts(customer_impact="customer_facing", data_classification="restricted"), tuned)

    assert result.codes == {C.CUSTOMER_FACING, C.RESTRICTED_DATA, C.COMBINED_HIGH_RISKS}
    assert result.risk_tier == RiskTier.CRITICAL


def test_a_high_rule_tuned_to_medium_no_longer_counts_towards_combined_risks():
    tuned = rules(autonomous_agent=RuleSetting(tier=RiskTier.MEDIUM))

    result = triage(
        facts(
            customer_impact="customer_facing",
            data_classification="restricted",
            autonomy_level="autonomous_agent",
        ),
        tuned,
    )

    assert C.COMBINED_HIGH_RISKS not in result.codes
    assert result.risk_tier == RiskTier.HIGH


def test_frontier_model_for_classification_warns_without_changing_the_tier():
    result = triage(facts(models=(FRONTIER,), task_kind="classification"), default_rule_settings())

    assert [w.code for w in result.warnings] == ["frontier_by_default"]
    text = result.warnings[0].text
    assert "GPT-4.1 is a frontier model" in text
    assert "needs small" in text
    assert result.risk_tier == RiskTier.LOW
    assert result.review_path == ReviewPath.FAST_TRACK
    assert result.reasons == []


def test_each_oversized_model_gets_its_own_warning():
    result = triage(facts(models=(SMALL, MID, FRONTIER), task_kind="classification"), default_rule_settings())

    assert [w.text.split(" is ")[0] for w in result.warnings] == ["GPT-4.1 mini", "GPT-4.1"]


@pytest.mark.parametrize(
    ("model", "task_kind"),
    [
        (SMALL, "classification"),
        (MID, "drafting"),
        (FRONTIER, "synthesis"),
        (FRONTIER, ""),
        (ModelFacts("o3", ModelTier.REASONING, ModelStatus.APPROVED), "multi_step"),
        (EMBEDDING, "embedding"),
        (EMBEDDING, "classification"),
        (EMBEDDING, "multi_step"),
    ],
    ids=lambda v: getattr(v, "tier", v) or "no-task",
)
def test_a_model_that_fits_its_task_and_embedding_models_never_warn(model, task_kind):
    result = triage(facts(models=(model,), task_kind=task_kind), default_rule_settings())

    assert result.warnings == []


@pytest.mark.django_db
def test_rules_tuned_in_the_database_are_the_ones_a_submitted_intake_is_triaged_with(cast, intake_data):
    TriageRule.objects.filter(code=C.COST_ABOVE_THRESHOLD).update(threshold=Decimal("1000"))
    TriageRule.objects.filter(code=C.PERSONAL_DATA).update(enabled=False)
    form = IntakeForm(
        {**intake_data, "expected_monthly_cost": "1500.00", "personal_data": "on"},
        user=cast.requester_a,
        mode=SUBMIT,
    )
    assert form.is_valid(), form.errors
    intake = services.intake_save(actor=cast.requester_a, values=form.cleaned_data)

    settings = triage_rule_settings()
    intake = services.intake_submit(actor=cast.requester_a, intake=intake)

    assert settings[C.COST_ABOVE_THRESHOLD].threshold == Decimal("1000")
    assert not settings[C.PERSONAL_DATA].enabled
    assert intake.status == IntakeStatus.TRIAGED
    assert intake.risk_tier == RiskTier.MEDIUM
    assert intake.review_path == ReviewPath.REVIEW
    assert [r["code"] for r in intake.triage_reasons] == [C.COST_ABOVE_THRESHOLD]
    assert "above $1,000 a month ($1,500 expected)" in intake.triage_reasons[0]["text"]


@pytest.mark.django_db
def test_the_migration_puts_the_default_rules_in_the_database():
    assert triage_rule_settings() == default_rule_settings()
    assert set(TriageRule.objects.values_list("code", flat=True)) == set(C)
