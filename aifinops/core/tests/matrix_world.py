"""The data the permission matrix walks: one of everything a URL can point at, all of team A's.

`build_world(cast)` returns reference -> URL value ("use_case_a" -> its key, "intake_a" -> its pk...),
the names the table's kwargs use. Everything of team A that a page could show carries one of
`TEAM_A_MARKERS`, so a page that shows team B's requester any of them leaks.
"""

import datetime
from decimal import Decimal

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from aifinops.core import periods
from aifinops.core.audit import audit_record
from aifinops.core.models import ApiToken, hash_token
from council.models import Decision, MeetingState, ReviewThresholds
from council.tests.factories import (
    AgendaItemFactory,
    CouncilFactory,
    CouncilMemberFactory,
    FundingRequestFactory,
    IntakeRequestFactory,
    MeetingFactory,
    MilestoneFactory,
    ValueSignalFactory,
    VoteFactory,
)
from intake.models import IntakeStatus
from portfolio.models import CostLine, OptimizationItem, ToolSubscription
from portfolio.tests.factories import AIModelFactory, ProviderFactory
from showback.models import (
    AttributionRule,
    BudgetAlert,
    BudgetIncreaseRequest,
    Commitment,
    ExchangeRate,
    ImportBatch,
    SpendRecord,
    TeamWebhook,
)
from showback.tests.analytics_factories import AnomalyFactory, ForecastAssumptionFactory
from showback.tests.budget_factories import BudgetFactory
from showback.tests.factories import DailySpendFactory
from showback.tests.gateway_helpers import AgentPolicyFactory, GatewayKeyFactory

# Texts only team A's records hold: its name as an element's whole text, its use case, intakes,
# tools, budgets, milestones, spend. (The use case's key appears in help texts as an example, so it
# is matched only as a link or a JSON value.)
TEAM_A_MARKERS = (
    ">Support<",
    '"Support"',
    "support-summarizer/",
    '"support-summarizer"',
    "Support summarizer",
    "Zeta",
    "617.23",
    "617,23",
)


def spend_day():
    """The first day of this month: inside every page's default period (month to date)."""
    return periods.month_start(periods.today())


def build_world(cast):
    a, b = cast.team_a, cast.team_b
    uc_a = cast.use_case_a
    openai = ProviderFactory(slug="openai", name="OpenAI")
    model = AIModelFactory(provider=openai, key="gpt-4.1-mini", name="GPT-4.1 mini")
    uc_a.ai_models.add(model)

    day = spend_day()
    for team, use_case, cost in ((a, uc_a, "617.23"), (b, cast.use_case_b, "400")):
        DailySpendFactory(
            team=team,
            use_case=use_case,
            provider=openai,
            model=model,
            model_tier=model.tier,
            date=day,
            billed_cost=Decimal(cost),
            effective_cost=Decimal(cost),
            list_cost=Decimal(cost),
        )

    token_raw = ApiToken.generate_key()
    token = ApiToken.objects.create(
        user=cast.requester_a, name="ci", prefix=token_raw[:14], key_hash=hash_token(token_raw)
    )
    intake = IntakeRequestFactory(
        requester=cast.requester_a,
        name="Zeta refund triage",
        team=a,
        use_case=None,
        business_owner=cast.owner,
        status=IntakeStatus.TRIAGED,
        decided_at=None,
    )
    draft = IntakeRequestFactory(
        requester=cast.requester_a,
        name="Zeta draft",
        team=a,
        use_case=None,
        status=IntakeStatus.DRAFT,
        triaged_at=None,
        decided_at=None,
    )
    milestone = MilestoneFactory(use_case=uc_a, name="Zeta pilot review")
    signal = ValueSignalFactory(use_case=uc_a)
    cost_line = CostLine.objects.create(
        use_case=uc_a, month=signal.month, category="hosting", amount=Decimal("120"), note="Zeta hosting"
    )
    optimization = OptimizationItem.objects.create(
        use_case=uc_a, title="Zeta prompt caching", lever="caching"
    )
    subscription = ToolSubscription.objects.create(
        vendor="GitHub",
        product="Zeta seats",
        team=a,
        owner=cast.owner,
        use_case=uc_a,
        seats=10,
        price_per_seat=Decimal("19"),
        renewal_date=periods.today() + datetime.timedelta(days=200),
    )

    batch = ImportBatch(
        created_by=cast.finance,
        original_name="bill.csv",
        sha256="0" * 64,
        source_format="focus",
        status="succeeded",
        rejects=[{"line": 3, "column": "BilledCost", "message": "not a number"}],
    )
    batch.file.save("bill.csv", ContentFile(b"BilledCost\n1\n"), save=False)
    batch.save()
    rule = AttributionRule.objects.create(
        name="Zeta project", match_field="sub_account", match_value="support-*", team=a
    )

    budget = BudgetFactory(name="Zeta budget", scope="team", team=a, owner=cast.owner, mode="approval")
    alert = BudgetAlert.objects.create(
        budget=budget,
        period_start=day,
        kind="threshold",
        threshold=80,
        actual=Decimal("800"),
        projected=Decimal("1200"),
        amount=budget.amount,
    )
    increase = BudgetIncreaseRequest.objects.create(
        budget=budget,
        period_start=day,
        current_amount=budget.amount,
        requested_amount=Decimal("1500"),
        requested_by=cast.owner,
        reason="Zeta launch",
    )
    webhook = TeamWebhook.objects.create(team=a, url="https://hooks.example.com/zeta")

    anomaly = AnomalyFactory(use_case=uc_a, date=day, note="Zeta spike")
    commitment = Commitment.objects.create(
        name="Zeta committed spend",
        provider=openai,
        category="spend",
        term_start=day,
        term_end=periods.add_months(day, 12) - datetime.timedelta(days=1),
        committed_amount=Decimal("12000"),
    )
    assumption = ForecastAssumptionFactory(use_case=uc_a, created_by=cast.finance, note="Zeta growth")

    gateway_key = GatewayKeyFactory(use_case=uc_a, created_by=cast.owner, name="zeta-gateway")
    AgentPolicyFactory(use_case=uc_a)

    council = CouncilFactory(name="AI Investment Council", chair=cast.chair)
    CouncilMemberFactory(council=council, user=cast.chair, persona="finance")
    CouncilMemberFactory(council=council, user=cast.council)
    meeting = MeetingFactory(council=council, state=MeetingState.IN_SESSION)
    item = AgendaItemFactory(meeting=meeting, use_case=uc_a)
    held = MeetingFactory(
        council=council, state=MeetingState.CLOSED, scheduled_for=timezone.now() - datetime.timedelta(days=30)
    )
    decided = AgendaItemFactory(meeting=held, use_case=uc_a, status="decided")
    decision = Decision.objects.create(
        item=decided, outcome="approve", recorded_by=cast.chair, note="Zeta approved"
    )
    funding = FundingRequestFactory(use_case=uc_a, requested_by=cast.owner, expected_outcomes="Zeta MVP")
    _admin_only_rows(cast, council=council, item=decided, day=day)

    return {
        "team_a": a.slug,
        "use_case_a": uc_a.key,
        "now": timezone.now().isoformat(),
        "month_start": day,
        "next_month_start": periods.add_months(day, 1),
        "year": day.year,
        "month": day.month,
        "token_a": token.pk,
        "intake_a": intake.pk,
        "draft_a": draft.pk,
        "gate_code": "testing_plan",
        "milestone_a": milestone.pk,
        "signal_a": signal.pk,
        "cost_line_a": cost_line.pk,
        "optimization_a": optimization.pk,
        "subscription_a": subscription.pk,
        "provider": openai.slug,
        "model": model.pk,
        "import_batch": batch.pk,
        "rule": rule.pk,
        "budget_a": budget.pk,
        "alert_a": alert.pk,
        "increase_a": increase.pk,
        "webhook_a": webhook.pk,
        "anomaly_a": anomaly.pk,
        "commitment": commitment.pk,
        "assumption_a": assumption.pk,
        "gateway_key_a": gateway_key.pk,
        "council": council.pk,
        "meeting": meeting.pk,
        "held_meeting": held.pk,
        "item_a": item.pk,
        "decision": decision.pk,
        "funding_a": funding.pk,
        "app_label": "portfolio",
        "use_case_type": ContentType.objects.get_for_model(uc_a).pk,
        "person_b": cast.requester_b.pk,
        "membership_a": a.memberships.get(user=cast.requester_a).pk,
        "triage_rule": "personal_data",
        # An invitation's link whose token is not (or no longer) good: the page says so.
        "invite_uid": urlsafe_base64_encode(force_bytes(cast.requester_a.pk)),
        "invite_token": "zeta-spent-token",
    }


def _admin_only_rows(cast, *, council, item, day):
    """A row of each model that only the admin shows, so that its object pages have an object."""
    with transaction.atomic():
        audit_record(actor=cast.admin, action="matrix.setup", obj=cast.team_a)
    SpendRecord.objects.create(
        source="focus", source_row_key="zeta-1", charge_period_start=day, charge_period_end=day
    )
    ReviewThresholds.objects.get_or_create(council=council)
    ExchangeRate.objects.create(base="EUR", quote="USD", rate="1.1", valid_from=day, source="matrix")
    VoteFactory(item=item, member=council.members.get(user=cast.council))
    seen = {"user_agent": "pytest", "http_accept": "*/*", "path_info": "/accounts/login/"}
    AccessAttempt.objects.create(username="zeta", get_data="", post_data="", failures_since_start=1, **seen)
    AccessLog.objects.create(username="zeta", **seen)
    AccessFailureLog.objects.create(username="zeta", **seen)
