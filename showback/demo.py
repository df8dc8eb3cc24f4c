"""Demo spend: twelve months of daily AI spend per use case and model, ending yesterday (UTC).

Each use case has a spend profile: when it started spending, how its recent month compares with
its expected monthly cost, monthly growth, how quiet its weekends are, and a few one-day spikes.
Rows are costed from the catalog's list prices; cloud providers carry a negotiated discount in
billed and effective cost; the self-hosted cluster is an estimate at its amortised rate. Some AI
spend is left unattributed and a little non-AI cloud spend is mixed in, as real bills are.

Bills are in three currencies, as a company's are: Azure OpenAI and Mistral bill in EUR, Vertex
AI in GBP (a UK billing account), the rest in USD; ECB-like reference rates (EUR/USD and GBP/USD,
one a business day, weekends at Friday's) cover every day of the demo, so the showback page shows
one total in the reporting currency. A foreign bill is the USD cost at the day's rate.

A series (a use case, or one unattributed or non-AI stream) whose demo rows already exist is
skipped, so a second run writes nothing. Randomness is seeded per series: same data every run.
"""

import datetime
import math
import random
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from portfolio.demo import USE_CASES
from portfolio.models import AIModel, UseCase

from .budgets import demo as budgets_demo
from .models import ExchangeRate, SpendRecord, TokenType
from .rollups import daily_spend_rebuild

SEED = 20250601
SOURCE = "demo"
DAYS = 365
DAYS_PER_MONTH = 30.44
MILLION = Decimal(1_000_000)
Q6 = Decimal("0.000001")
AI_CATEGORY = "AI and Machine Learning"

SERVICE_NAMES = {
    "openai": "OpenAI API",
    "anthropic": "Anthropic API",
    "aws-bedrock": "Amazon Bedrock",
    "azure-openai": "Azure OpenAI Service",
    "self-hosted-gpu": "Self-hosted inference (vLLM)",
    "google-vertex": "Vertex AI",
    "mistral": "Mistral La Plateforme",
}
BILLING_ACCOUNTS = {
    "openai": "org-acme-ai",
    "anthropic": "acme-production",
    "aws-bedrock": "123456789012",
    "azure-openai": "acme-ai-subscription",
    "self-hosted-gpu": "gpu-cluster-fra1",
    "google-vertex": "acme-ai-prod",
    "mistral": "acme-mistral",
}
# Negotiated enterprise discounts on the cloud providers' list prices.
DISCOUNTS = {"aws-bedrock": Decimal("0.92"), "azure-openai": Decimal("0.90")}
ESTIMATED_PROVIDERS = {"self-hosted-gpu"}
# The currency each provider bills the demo company in (USD otherwise).
BILLING_CURRENCIES = {"azure-openai": "EUR", "mistral": "EUR", "google-vertex": "GBP"}
# 1 unit = this many USD, around which the demo's daily reference rates drift.
RATE_LEVELS = {"EUR": (1.08, 0.035, 0.011), "GBP": (1.27, 0.04, 0.013)}
RATE_SOURCE = "ECB reference rates (demo)"
Q4 = Decimal("0.0001")


@dataclass(frozen=True)
class Profile:
    start: int  # days before yesterday when spend began
    ratio: float  # latest monthly run rate against expected_monthly_cost (above 1: over budget)
    growth: float = 0.0  # month-on-month growth of the run rate
    stop: int = 0  # days before yesterday when spend stopped (sunset use cases)
    weekend: float = 0.5  # a weekend day's spend relative to a weekday's
    io: float = 6.0  # input tokens per output token
    spikes: tuple = ()  # (days before yesterday, multiplier): one-day anomalies
    month_end: bool = False  # busy in the last and first days of each month


# fmt: off
PROFILES = {
    "support-reply-drafter": Profile(355, 0.93, 0.06, weekend=0.7, io=8),
    "ticket-triage-router": Profile(190, 1.45, 0.05, weekend=0.6, io=12),
    "support-call-summarizer": Profile(95, 0.85, 0.12, weekend=0.3, io=10, spikes=((40, 5.0),)),
    "refund-resolution-agent": Profile(40, 0.6, 0.2, weekend=0.8),
    "kb-article-generator": Profile(364, 0.8, -0.02, stop=62, weekend=0.3, io=4),
    "rfp-response-assistant": Profile(340, 0.95, 0.07, weekend=0.15, io=10),
    "sales-call-coach": Profile(80, 0.8, 0.1, weekend=0.1, io=12),
    "lead-enrichment-agent": Profile(210, 1.55, 0.08, io=7, spikes=((9, 7.0),)),
    "campaign-copy-generator": Profile(364, 0.9, 0.05, weekend=0.25, io=3, spikes=((120, 4.5),)),
    "seo-content-brief": Profile(230, 0.7, 0.02, weekend=0.2, io=5),
    "social-listening-summaries": Profile(360, 0.9, 0.0, stop=58, weekend=1.0, io=15),
    "personalized-email-agent": Profile(28, 0.5, 0.3, weekend=1.0, io=4),
    "code-review-assistant": Profile(364, 1.35, 0.09, weekend=0.12, io=15, spikes=((200, 6.0),)),
    "dev-chat-selfhosted": Profile(250, 0.88, 0.04, weekend=0.15, io=4),
    "incident-runbook-agent": Profile(110, 0.75, 0.15, weekend=0.7, io=10),
    "log-anomaly-explainer": Profile(50, 0.7, 0.1, weekend=0.9, io=20),
    # A concept: a developer trying prompts for a week or two, a few dollars a day.
    "test-generation-agent": Profile(12, 0.12, weekend=0.1, io=6),
    "cobol-migration-assistant": Profile(330, 0.9, 0.0, stop=66, weekend=0.2, io=3),
    "invoice-extraction": Profile(345, 0.9, 0.04, weekend=0.2, io=20),
    "expense-policy-checker": Profile(200, 0.8, 0.03, weekend=0.3, io=10, month_end=True),
    "contract-clause-reviewer": Profile(100, 1.6, 0.18, weekend=0.1, io=25),
    "month-end-variance-commentary": Profile(55, 0.8, weekend=0.1, io=20, month_end=True),
    "in-app-assistant": Profile(364, 0.92, 0.07, weekend=0.8, io=9),
    "semantic-search": Profile(330, 0.85, 0.05, weekend=0.75, io=30),
    "report-narratives": Profile(170, 0.9, 0.06, weekend=0.4, io=12),
    "onboarding-agent": Profile(70, 0.7, 0.15, weekend=0.6, io=8),
    "feature-request-clustering": Profile(300, 0.85, 0.0, stop=72, weekend=0.2, io=10),
    "alt-text-generator": Profile(25, 0.6, 0.1, weekend=0.7, io=2),
}
# fmt: on


@dataclass(frozen=True)
class Stream:
    """AI spend nobody attributed, or non-AI spend, at `monthly` USD a month."""

    key: str
    monthly: float
    profile: Profile
    provider: str = ""
    model: str = ""
    sub_account: str = ""
    api_key: str = ""
    tags: tuple = ()


UNATTRIBUTED = (
    # An Azure OpenAI deployment in a sandbox resource group that nobody tagged.
    Stream(
        "unattributed:azure-openai",
        2600,
        Profile(130, 1.0, 0.06, weekend=0.5, io=6),
        provider="azure-openai",
        model="gpt-4o",
        sub_account="rg-ai-sandbox-eastus2",
        tags=(("environment", "sandbox"),),
    ),
    # A batch job still running on a legacy OpenAI key with no project.
    Stream(
        "unattributed:openai",
        900,
        Profile(45, 1.0, weekend=0.9, io=10),
        provider="openai",
        model="gpt-4.1-mini",
        api_key="key-legacy-batch",
    ),
)
# General compute, so that the showback's "AI only / all spend" switch has something to switch.
NON_AI_EC2 = Stream("non-ai:aws-ec2", 3300, Profile(364, 1.0, 0.01, weekend=0.85))
EC2_PRICE_PER_HOUR = Decimal("0.096")


def _yesterday() -> datetime.date:
    return timezone.now().date() - datetime.timedelta(days=1)


def _daily_costs(profile: Profile, monthly: float, rng: random.Random, yesterday: datetime.date):
    """Yield (date, USD) for each day the profile spends, oldest first. Floats shape the curve;
    stored money is computed in Decimal from whole token counts."""
    weekday_factor = 7 / (5 + 2 * profile.weekend)
    level_now = monthly * profile.ratio / DAYS_PER_MONTH
    for days_ago in range(min(profile.start, DAYS - 1), profile.stop - 1, -1):
        day = yesterday - datetime.timedelta(days=days_ago)
        # The run rate is anchored at the last day of spend, growing into it month by month.
        cost = level_now * (1 + profile.growth) ** (-(days_ago - profile.stop) / DAYS_PER_MONTH)
        days_live = profile.start - days_ago
        if days_live < 14:
            cost *= 0.3 + 0.7 * days_live / 14
        if profile.stop and days_ago - profile.stop < 21:
            cost *= 0.35 + 0.65 * (days_ago - profile.stop) / 21
        cost *= weekday_factor * (profile.weekend if day.weekday() >= 5 else 1)
        if profile.month_end:
            cost *= 2.5 if day.day >= 27 or day.day <= 2 else 0.75
        for spike_days_ago, multiplier in profile.spikes:
            if days_ago == spike_days_ago:
                cost *= multiplier
        cost *= min(1.35, max(0.7, rng.gauss(1, 0.08)))
        yield day, cost


def _rate_day(day: datetime.date) -> datetime.date:
    """The business day whose reference rate is in force on `day`: Friday's over a weekend."""
    return day - datetime.timedelta(days=max(0, day.weekday() - 4))


def demo_rate(currency: str, day: datetime.date) -> Decimal:
    """The demo's reference rate (1 currency = rate USD) in force on `day`: a slow drift and a small
    daily wobble, four decimals as the ECB publishes."""
    if currency == "USD":
        return Decimal(1)
    level, drift, wobble = RATE_LEVELS[currency]
    n = _rate_day(day).toordinal()
    value = level + drift * math.sin(n / 58.0) + wobble * math.sin(n * 1.7)
    return Decimal(str(value)).quantize(Q4)


def _seed_rates(first: datetime.date, last: datetime.date) -> int:
    """One rate a business day for each demo currency, from the business day in force on `first`
    (so no spend day lacks a rate) to `last`; rates already recorded are left as they are."""
    rates, day = [], _rate_day(first)
    while day <= last:
        if day.weekday() < 5:
            for currency in sorted(RATE_LEVELS):
                rates.append(
                    ExchangeRate(
                        base=currency,
                        quote="USD",
                        rate=demo_rate(currency, day),
                        valid_from=day,
                        source=RATE_SOURCE,
                    )
                )
        day += datetime.timedelta(days=1)
    return len(ExchangeRate.objects.bulk_create(rates, batch_size=2000, ignore_conflicts=True))


def _period(day):
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)
    return start, start + datetime.timedelta(days=1)


def _token_rows(day, cost, model, io, rng):
    """Split a day's cost on a model into (token type, tokens), input and output."""
    price_in = float(model.input_price_per_mtok)
    price_out = float(model.output_price_per_mtok)
    if price_out == 0:
        return [(TokenType.INPUT, int(cost * 1e6 / price_in))]
    ratio = io * rng.uniform(0.85, 1.15)
    output_tokens = cost * 1e6 / (ratio * price_in + price_out)
    return [(TokenType.INPUT, int(output_tokens * ratio)), (TokenType.OUTPUT, int(output_tokens))]


def _ai_record(
    *,
    row_key,
    day,
    model,
    token_type,
    tokens,
    use_case=None,
    team=None,
    environment="",
    tags=None,
    sub_account="",
    api_key="",
):
    provider = model.provider
    price = model.output_price_per_mtok if token_type == TokenType.OUTPUT else model.input_price_per_mtok
    currency = BILLING_CURRENCIES.get(provider.slug, "USD")
    list_cost = (Decimal(tokens) * price / MILLION / demo_rate(currency, day)).quantize(Q6)
    billed = (list_cost * DISCOUNTS.get(provider.slug, Decimal(1))).quantize(Q6)
    start, end = _period(day)
    return SpendRecord(
        source=SOURCE,
        source_row_key=row_key,
        charge_period_start=start,
        charge_period_end=end,
        provider=provider,
        provider_name=provider.name,
        service_name=SERVICE_NAMES.get(provider.slug, ""),
        service_category=AI_CATEGORY,
        model=model,
        model_name=model.key,
        token_type=token_type,
        quantity=Decimal(tokens),
        input_tokens=tokens if token_type == TokenType.INPUT else 0,
        output_tokens=tokens if token_type == TokenType.OUTPUT else 0,
        requests=max(1, tokens // 2000) if token_type == TokenType.INPUT else 0,
        unit="Tokens",
        billed_cost=billed,
        effective_cost=billed,
        list_cost=list_cost,
        currency=currency,
        is_estimated=provider.slug in ESTIMATED_PROVIDERS,
        is_ai=True,
        billing_account=BILLING_ACCOUNTS.get(provider.slug, ""),
        sub_account=sub_account,
        api_key=api_key,
        tags=tags or {},
        use_case=use_case,
        team=team,
        environment=environment,
    )


def _use_case_records(use_case, profile, shares, models, yesterday):
    rng = random.Random(f"{SEED}:{use_case.key}")
    tags = {"use_case": use_case.key, "team": use_case.team.slug}
    for day, cost in _daily_costs(profile, float(use_case.expected_monthly_cost), rng, yesterday):
        for provider_slug, model_key, share in shares:
            model = models[provider_slug, model_key]
            for token_type, tokens in _token_rows(day, cost * share, model, profile.io, rng):
                if tokens <= 0:
                    continue
                yield _ai_record(
                    row_key=f"{use_case.key}:{model.key}:{day.isoformat()}:{token_type}",
                    day=day,
                    model=model,
                    token_type=token_type,
                    tokens=tokens,
                    use_case=use_case,
                    team=use_case.team,
                    environment=use_case.environment,
                    tags=tags,
                )


def _unattributed_records(stream, models, yesterday):
    rng = random.Random(f"{SEED}:{stream.key}")
    model = models[stream.provider, stream.model]
    for day, cost in _daily_costs(stream.profile, stream.monthly, rng, yesterday):
        for token_type, tokens in _token_rows(day, cost, model, stream.profile.io, rng):
            yield _ai_record(
                row_key=f"{stream.key}:{model.key}:{day.isoformat()}:{token_type}",
                day=day,
                model=model,
                token_type=token_type,
                tokens=tokens,
                tags=dict(stream.tags),
                sub_account=stream.sub_account,
                api_key=stream.api_key,
            )


def _non_ai_records(stream, yesterday):
    rng = random.Random(f"{SEED}:{stream.key}")
    for day, cost in _daily_costs(stream.profile, stream.monthly, rng, yesterday):
        hours = Decimal(round(cost / float(EC2_PRICE_PER_HOUR)))
        list_cost = (hours * EC2_PRICE_PER_HOUR).quantize(Q6)
        start, end = _period(day)
        yield SpendRecord(
            source=SOURCE,
            source_row_key=f"{stream.key}:{day.isoformat()}",
            charge_period_start=start,
            charge_period_end=end,
            provider_name="AWS",
            service_name="Amazon Elastic Compute Cloud",
            service_category="Compute",
            token_type=TokenType.NONE,
            quantity=hours,
            unit="Hours",
            billed_cost=list_cost,
            effective_cost=list_cost,
            list_cost=list_cost,
            currency="USD",
            is_ai=False,
            billing_account=BILLING_ACCOUNTS["aws-bedrock"],
            sub_account="shared-services",
            tags={"environment": "production"},
            environment="production",
        )


def _stream_exists(stream):
    return SpendRecord.objects.filter(source=SOURCE, source_row_key__startswith=f"{stream.key}:").exists()


def seed(*, stdout):
    _seed_spend(stdout=stdout)
    budgets_demo.seed(stdout=stdout)


def _seed_spend(*, stdout):
    yesterday = _yesterday()
    added = _seed_rates(yesterday - datetime.timedelta(days=DAYS), timezone.now().date())
    stdout.write(f"  exchange rates: {added} {RATE_SOURCE} (EUR/USD, GBP/USD) added")
    models = {(m.provider.slug, m.key): m for m in AIModel.objects.select_related("provider")}
    shares = {spec["key"]: spec["models"] for spec in USE_CASES}
    seeded = set(
        SpendRecord.objects.filter(source=SOURCE, use_case__isnull=False)
        .values_list("use_case_id", flat=True)
        .distinct()
    )
    use_cases = (
        UseCase.objects.filter(key__in=PROFILES).exclude(pk__in=seeded).select_related("team").order_by("key")
    )
    records = []
    for use_case in use_cases:
        records.extend(
            _use_case_records(use_case, PROFILES[use_case.key], shares[use_case.key], models, yesterday)
        )
    for stream in UNATTRIBUTED:
        if not _stream_exists(stream):
            records.extend(_unattributed_records(stream, models, yesterday))
    if not _stream_exists(NON_AI_EC2):
        records.extend(_non_ai_records(NON_AI_EC2, yesterday))

    if not records:
        stdout.write("  spend: demo spend already present, nothing to add")
        return
    SpendRecord.objects.bulk_create(records, batch_size=2000)
    first = min(r.charge_period_start for r in records).date()
    last = max(r.charge_period_start for r in records).date()
    rollups = daily_spend_rebuild(start=first, end=last)
    stdout.write(f"  spend: {len(records)} spend records from {first} to {last}, {rollups} daily rollup rows")
