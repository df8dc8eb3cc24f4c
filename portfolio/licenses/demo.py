"""Demo internal AI tools: seat plans with seat activity, one over-bought, renewals coming up.

Idempotent: a subscription that exists (same team, vendor and product) is left alone.
"""

import datetime
import random
from decimal import Decimal
from io import BytesIO

from django.core.files.uploadedfile import SimpleUploadedFile

from aifinops.core import periods
from aifinops.core.demo import demo_user

from ..models import BillingCycle, Team, ToolSubscription, UseCase
from .services import renewals_warn, seat_activity_import, subscription_create

SUBSCRIPTIONS = (
    # team, vendor, product, use case,
    # seats, price per seat, cycle, renews in days, share of seats active, owner
    (
        "platform-engineering",
        "GitHub",
        "Copilot Business",
        "code-review-assistant",
        120,
        "19",
        BillingCycle.MONTHLY,
        25,
        0.62,
        "jchen",
    ),
    (
        "sales-engineering",
        "OpenAI",
        "ChatGPT Enterprise seats",
        "rfp-response-assistant",
        60,
        "720",
        BillingCycle.ANNUAL,
        55,
        0.45,
        "aokafor",
    ),
    (
        "customer-support",
        "Anthropic",
        "Claude Team seats",
        "support-reply-drafter",
        25,
        "30",
        BillingCycle.MONTHLY,
        85,
        0.92,
        "owner",
    ),
    (
        "marketing",
        "Jasper",
        "Business plan",
        "campaign-copy-generator",
        15,
        "69",
        BillingCycle.MONTHLY,
        200,
        0.8,
        "lmartin",
    ),
)


def _seat_csv(team_slug, seats, share, rng, today):
    lines = ["email,last_active"]
    holders = seats - 3 if seats > 10 else seats
    active = int(seats * share)
    for i in range(holders):
        if i < active:
            day = today - datetime.timedelta(days=rng.randint(0, 20))
        elif i % 4 == 0:
            day = None
        else:
            day = today - datetime.timedelta(days=rng.randint(40, 200))
        lines.append(f"user{i:03d}@{team_slug}.example.com,{day.isoformat() if day else ''}")
    return ("\n".join(lines) + "\n").encode()


def seed(*, stdout):
    rng = random.Random(11)  # demo data, not secrets
    today = periods.today()
    admin = demo_user("finance")
    made = 0
    for team_slug, vendor, product, key, seats, price, cycle, days, share, owner in SUBSCRIPTIONS:
        team = Team.objects.get(slug=team_slug)
        if ToolSubscription.objects.filter(team=team, vendor=vendor, product=product).exists():
            continue
        subscription = subscription_create(
            actor=admin,
            vendor=vendor,
            product=product,
            team=team,
            owner=demo_user(owner),
            use_case=UseCase.objects.filter(key=key).first(),
            seats=seats,
            price_per_seat=Decimal(price),
            billing_cycle=cycle,
            currency="USD",
            renewal_date=today + datetime.timedelta(days=days),
        )
        content = _seat_csv(team_slug, seats, share, rng, today)
        upload = SimpleUploadedFile("seats.csv", BytesIO(content).getvalue(), content_type="text/csv")
        seat_activity_import(actor=admin, subscription=subscription, uploaded_file=upload)
        made += 1
    warned = renewals_warn(today=today)
    stdout.write(f"  {made} tool subscriptions, {len(warned)} renewal warnings")
