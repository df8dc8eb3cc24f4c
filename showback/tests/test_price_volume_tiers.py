"""A price's volume tier is reached on the model's month volume, one rule for the gateway, the
imports and the reconciliation: every token of the model that calendar month, from every source.
An import that carries a month across a tier re-costs the month's estimated usage, audited."""

import datetime
import importlib
import logging
import os
from collections import defaultdict
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from aifinops.core import periods
from aifinops.core.models import AuditEvent
from portfolio.services.prices import price_add
from portfolio.tests.factories import AIModelFactory, ProviderFactory
from showback.chargeback.selectors import reconciliation
from showback.ingest.services import spend_import_create, spend_import_run, spend_import_undo
from showback.models import PRICED_TOKENS, DailySpend, ImportStatus, SpendRecord, UsageEvent
from showback.rollups import daily_spend_rebuild
from showback.selectors import model_month_volumes

from .focus_files import focus_csv, focus_rows
from .gateway_helpers import bearer, event, iso

pytestmark = pytest.mark.django_db

MILLION = Decimal(1_000_000)
THRESHOLD = 1_000_000
# (input, output) per million tokens: below the month's million tokens, and from it.
BASE, VOLUME = (Decimal(2), Decimal(8)), (Decimal(1), Decimal(4))
CENTS = Decimal("0.01")
THIS_MONTH = periods.month_start(periods.today())
LAST_MONTH = periods.months_back(THIS_MONTH, 1)


@pytest.fixture
def tiered(cast, catalog):
    """GPT mini with two volume tiers in the book, in force long before the months tested."""
    model = catalog["ok"]
    since = periods.months_back(THIS_MONTH, 14)
    for threshold, (inp, out) in ((0, BASE), (THRESHOLD, VOLUME)):
        price_add(
            actor=cast.admin,
            model=model,
            effective_from=since,
            volume_threshold=threshold,
            input_price_per_mtok=inp,
            output_price_per_mtok=out,
        )
    return model


def _csv(lines):
    """A usage-only generic CSV of GPT mini: lines of (day, input tokens, output tokens, account)."""
    rows = ["date,provider,model,cost,currency,input_tokens,output_tokens,account"]
    rows += [f"{day.isoformat()},OpenAI,gpt-mini,,USD,{i},{o},{account}" for day, i, o, account in lines]
    return ("\n".join(rows) + "\n").encode()


def _import(actor, lines):
    batch = spend_import_create(
        actor=actor,
        uploaded_file=SimpleUploadedFile("usage.csv", _csv(lines)),
        source_format="generic",
        queue=False,
    )
    batch = spend_import_run(batch_id=batch.pk)
    assert batch.status == ImportStatus.SUCCEEDED, batch.error
    return batch


def _estimated(**filters):
    return SpendRecord.objects.filter(is_estimated=True, **filters).aggregate(t=Sum("effective_cost"))["t"]


def _volume(model, month=THIS_MONTH):
    """The ledger's month volume of the model, as the gateway, the imports and the reconciliation read it."""
    return model_month_volumes(model_ids={model.pk}, months={month}).get((model.pk, month), 0)


def _cost(tokens_in, tokens_out, prices):
    return (tokens_in * prices[0] + tokens_out * prices[1]) / MILLION


def test_an_import_that_carries_the_month_over_a_tier_recosts_the_months_estimates_audited(
    cast, tiered, login
):
    # Given last month at 500,000 tokens, costed at the base tier, and this month at 100,000
    first = _import(cast.finance, [(LAST_MONTH + datetime.timedelta(days=1), 400_000, 100_000, "a")])
    _import(cast.finance, [(THIS_MONTH, 100_000, 0, "c")])
    assert _estimated(import_batch=first) == Decimal("1.60")  # 0.4 x $2 + 0.1 x $8
    assert not AuditEvent.objects.filter(action="ai_model.recost").exists()

    # When a second import brings last month to 1,300,000 tokens
    second = _import(cast.finance, [(LAST_MONTH + datetime.timedelta(days=9), 600_000, 200_000, "b")])

    # Then every estimated row of last month costs at the volume tier: 1.0M in x $1 + 0.3M out x $4
    start = datetime.datetime.combine(LAST_MONTH, datetime.time.min, tzinfo=datetime.UTC)
    end = datetime.datetime.combine(THIS_MONTH, datetime.time.min, tzinfo=datetime.UTC)
    in_last_month = {"charge_period_start__gte": start, "charge_period_start__lt": end}
    assert _estimated(**in_last_month).quantize(CENTS) == Decimal("2.20")
    assert _estimated(import_batch=first).quantize(CENTS) == Decimal("0.80")
    assert _estimated(import_batch=second).quantize(CENTS) == Decimal("1.40")
    rollup = DailySpend.objects.filter(date__gte=LAST_MONTH, date__lt=THIS_MONTH, is_estimated=True)
    assert rollup.aggregate(t=Sum("estimated_cost"))["t"].quantize(CENTS) == Decimal("2.20")
    # and this month, at 100,000 tokens, stays at the base tier
    assert _estimated(charge_period_start__gte=end).quantize(CENTS) == Decimal("0.20")
    # and the re-costing is audited, naming the import and the volume that reached the tier
    audit = AuditEvent.objects.get(action="ai_model.recost")
    assert audit.actor == cast.finance
    assert audit.after["import_batch"] == second.pk
    assert (audit.after["volume_month"], audit.after["volume"]) == (LAST_MONTH.isoformat(), 1_300_000)
    assert audit.after["events"] == 2  # the first import's two rows (input, output)
    # the month's estimates before and after: 1.60 + 1.40 (the second's, costed at the tier it reached)
    assert Decimal(audit.before["estimated"]["USD"]) == Decimal("3.00")
    assert Decimal(audit.after["estimated"]["USD"]) == Decimal("2.20")
    # which the model's page shows
    page = login(cast.admin).get(reverse("portfolio:model_detail", args=[tiered.pk]))
    assert (
        f"2 estimated usage events of the month from {LAST_MONTH.isoformat()} re-costed, as import "
        f"#{second.pk} took the month's volume to 1,300,000 tokens, across a volume tier"
    ) in page.content.decode()


def test_an_import_whose_own_rows_cross_the_tier_costs_them_all_at_it(cast, tiered):
    # When one import brings the month from nothing to 1,000,000 tokens, its first line alone below
    batch = _import(
        cast.finance,
        [
            (THIS_MONTH, 500_000, 0, "first"),
            (THIS_MONTH, 300_000, 200_000, "second"),
        ],
    )

    # Then all its rows cost at the volume tier: 0.8M in x $1 + 0.2M out x $4
    assert _estimated(import_batch=batch).quantize(CENTS) == Decimal("1.60")
    assert _volume(tiered) == THRESHOLD


def test_undoing_the_import_that_reached_the_tier_costs_the_month_at_the_base_tier_again(cast, tiered):
    # Given two imports that took last month to 1,300,000 tokens
    first = _import(cast.finance, [(LAST_MONTH, 400_000, 100_000, "a")])
    second = _import(cast.finance, [(LAST_MONTH, 600_000, 200_000, "b")])
    assert _estimated(import_batch=first).quantize(CENTS) == Decimal("0.80")

    # When the second is undone
    spend_import_undo(batch_id=second.pk, actor=cast.finance)

    # Then the first is back at the base tier, and that is audited too
    assert _estimated(import_batch=first).quantize(CENTS) == Decimal("1.60")
    latest = AuditEvent.objects.filter(action="ai_model.recost").order_by("-id").first()
    assert latest.after["undone"] is True
    assert latest.after["volume"] == 500_000


def test_the_gateway_the_imports_and_the_reconciliation_agree_on_the_months_volume(
    cast, tiered, gateway_key, redis_clean, login
):
    midnight = datetime.datetime.combine(periods.today(), datetime.time.min, tzinfo=datetime.UTC)
    client = bearer(gateway_key.raw)
    # Given the gateway's 400,000 tokens this month, costed at the base tier (the month had none)
    answer = client.post(
        "/api/v1/usage-events/",
        {"events": [event("g1", timestamp=iso(midnight), input_tokens=300_000, output_tokens=100_000)]},
        format="json",
    )
    assert answer.json()["events"][0]["cost"] == "1.400000"

    # When an import brings 700,000 more: 1,100,000 tokens in all
    batch = _import(cast.finance, [(periods.today(), 500_000, 200_000, "imp")])

    # Then the ledger's month volume counts both sources
    assert _volume(tiered) == 1_100_000
    # the import costs at the tier it reached, and the gateway's event was re-costed at it too
    assert _estimated(import_batch=batch).quantize(CENTS) == _cost(500_000, 200_000, VOLUME)
    gateway_event = UsageEvent.objects.get(request_id="g1")
    assert gateway_event.cost == _cost(300_000, 100_000, VOLUME) == Decimal("0.70")
    assert _estimated(source="gateway") == Decimal("0.70")
    # a later gateway call is costed at the same volume's tier: 1,000 in x $1 + 500 out x $4
    later = client.post("/api/v1/usage-events/", {"events": [event("g2")]}, format="json")
    assert later.json()["events"][0]["cost"] == "0.003000"
    # and the reconciliation names the volume tier's price at that volume
    row = next(
        r
        for r in reconciliation(user=cast.finance, start_month=THIS_MONTH, months=1)
        if r["provider"] == "openai"
    )
    (named,) = row["prices"]
    assert named["volume"] == 1_101_500
    assert [p.volume_threshold for p in named["prices"]] == [THRESHOLD]
    page = login(cast.finance).get(reverse("showback:reconciliation"))
    text = page.content.decode()
    assert "month volume 1,101,500 tokens" in text
    assert "from 1,000,000 tokens a month" in text


def test_the_reconciliation_names_no_price_for_an_estimate_that_brought_its_own_cost(
    cast, tiered, gateway_key, redis_clean
):
    # Given only a gateway call that reported its own cost this month
    midnight = datetime.datetime.combine(periods.today(), datetime.time.min, tzinfo=datetime.UTC)
    own = event("own", timestamp=iso(midnight), cost="0.5")
    bearer(gateway_key.raw).post("/api/v1/usage-events/", {"events": [own]}, format="json")
    daily_spend_rebuild(start=periods.today(), end=periods.today())

    # Then the reconciliation shows the estimate and names no price of the book for it
    (row,) = reconciliation(user=cast.finance, start_month=THIS_MONTH, months=1)
    assert row["has_estimate"] and row["estimated"] == Decimal("0.5")
    assert row["prices"] == []


def test_the_migration_marks_the_gateway_records_written_before_of_events_the_book_costed(
    cast, tiered, gateway_key, redis_clean
):
    from django.apps import apps

    backfill = importlib.import_module("showback.migrations.0020_spendrecord_model_period_priced_tokens")
    # Given gateway records of a costed call with a customer, of a costed one without, and of one
    # that brought its own cost, written before records carried the mark
    events = [
        event("costed", input_tokens=3000, output_tokens=1000, cached_tokens=500, customer="acme"),
        event("plain", input_tokens=100, output_tokens=10),
        event("own", cost="0.5", customer="globex"),
    ]
    bearer(gateway_key.raw).post("/api/v1/usage-events/", {"events": events}, format="json")
    marked = {
        r.customer: r.raw_extras.get(PRICED_TOKENS) for r in SpendRecord.objects.filter(source="gateway")
    }
    assert marked == {"acme": [3000, 500, 0, 1000], "": [100, 0, 0, 10], "globex": None}
    for record in SpendRecord.objects.filter(source="gateway"):
        record.raw_extras = {k: v for k, v in record.raw_extras.items() if k != PRICED_TOKENS}
        record.save(update_fields=["raw_extras"])

    # When the migration's backfill runs
    backfill.gateway_priced_tokens(apps, None)

    # Then the records of costed calls carry their tokens again, and the other none
    again = {
        r.customer: r.raw_extras.get(PRICED_TOKENS) for r in SpendRecord.objects.filter(source="gateway")
    }
    assert again == marked


def test_telemetry_no_use_case_claims_is_costed_at_the_months_tier_and_recosted_with_the_month(
    cast, tiered, redis_clean
):
    from .gateway_helpers import token_client
    from .otlp_helpers import URL, App

    def span():
        app = App(**{"service.name": "shadow-summarizer"})
        app.chat()  # 1,000 uncached in, 200 cache reads, 500 out
        answer = token_client(cast.finance).generic(
            "POST", URL, app.body(), content_type="application/x-protobuf"
        )
        assert answer.status_code == 200

    # Given a span no use case claims, this month, at the base tier: 1,200 in x $2 + 500 out x $8
    span()
    shadow = SpendRecord.objects.filter(source="otel")
    assert shadow.get().effective_cost == _cost(1200, 500, BASE)

    # When an import takes the month past the tier
    _import(cast.finance, [(periods.today(), THRESHOLD, 0, "big")])

    # Then the span's spend is re-costed at it, and a later span is costed at it
    assert shadow.get().effective_cost == _cost(1200, 500, VOLUME)
    span()
    assert [r.effective_cost for r in shadow] == [_cost(1200, 500, VOLUME)] * 2


def _bill(model_key, day, tokens_by_row):
    """A FOCUS bill of Bedrock token rows of the model on the day, one row per token count."""
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)
    rows = list(focus_rows(len(tokens_by_row), start=start))
    for n, (row, tokens) in enumerate(zip(rows, tokens_by_row, strict=True)):
        direction = "input" if n % 2 == 0 else "output"
        row.update(
            ChargePeriodStart=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            ChargePeriodEnd=(start + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            ConsumedQuantity=str(tokens),
            PricingQuantity=str(tokens),
            ChargeDescription=f"{model_key} {direction} tokens",
            SkuId=f"{model_key}-{direction}",
            SkuMeter=f"{direction} tokens",
            ResourceId=f"arn:aws:bedrock:us-east-1::foundation-model/{model_key}",
            ResourceName=model_key,
        )
    return focus_csv(rows)


def test_a_bill_that_carries_the_month_over_a_tier_recosts_the_estimates_by_the_bulk_path(cast, caplog):
    model_key = "amazon.nova-pro-v1:0"
    model = AIModelFactory(provider=ProviderFactory(slug="aws-bedrock", name="AWS Bedrock"), key=model_key)
    for threshold, (inp, out) in ((0, BASE), (THRESHOLD, VOLUME)):
        price_add(
            actor=cast.admin,
            model=model,
            effective_from=periods.months_back(THIS_MONTH, 14),
            volume_threshold=threshold,
            input_price_per_mtok=inp,
            output_price_per_mtok=out,
        )
    # Given usage of the model last month, estimated at the base tier: 0.4M in x $2 + 0.1M out x $8
    day = LAST_MONTH + datetime.timedelta(days=3)
    usage = spend_import_create(
        actor=cast.finance,
        uploaded_file=SimpleUploadedFile(
            "usage.csv",
            (
                "date,provider,model,cost,currency,input_tokens,output_tokens\n"
                f"{day.isoformat()},AWS Bedrock,{model_key},,USD,400000,100000\n"
            ).encode(),
        ),
        source_format="generic",
        queue=False,
    )
    usage = spend_import_run(batch_id=usage.pk)
    assert _estimated(import_batch=usage) == Decimal("1.60")

    # When the provider's bill of 600,000 tokens of that month comes in, by the bulk path
    with caplog.at_level(logging.INFO, logger="showback.ingest.services"):
        bill = spend_import_create(
            actor=cast.finance,
            uploaded_file=SimpleUploadedFile("bill.csv", _bill(model_key, day, [300_000, 300_000])),
            source_format="focus",
            queue=False,
        )
        bill = spend_import_run(batch_id=bill.pk)
    assert bill.status == ImportStatus.SUCCEEDED, bill.error
    assert "goes row by row" not in caplog.text

    # Then the month's 1,100,000 tokens reach the volume tier, and the estimate is re-costed at it
    assert _volume(model, LAST_MONTH) == 1_100_000
    assert _estimated(import_batch=usage).quantize(CENTS) == Decimal("0.80")
    assert AuditEvent.objects.get(action="ai_model.recost").after["import_batch"] == bill.pk


def test_the_bulk_path_settles_volume_tiers_in_as_many_queries_for_any_number_of_rows(cast):
    model_key = "amazon.nova-pro-v1:0"
    model = AIModelFactory(provider=ProviderFactory(slug="aws-bedrock", name="AWS Bedrock"), key=model_key)
    price_add(
        actor=cast.admin,
        model=model,
        effective_from=periods.months_back(THIS_MONTH, 14),
        volume_threshold=THRESHOLD,
        input_price_per_mtok=VOLUME[0],
        output_price_per_mtok=VOLUME[1],
    )
    counts = []
    for n, size in enumerate((4, 40)):
        bill = spend_import_create(
            actor=cast.finance,
            uploaded_file=SimpleUploadedFile(
                "bill.csv",
                _bill(model_key, LAST_MONTH + datetime.timedelta(days=n), [1000 + i for i in range(size)]),
            ),
            source_format="focus",
            queue=False,
        )
        with CaptureQueriesContext(connection) as queries:
            bill = spend_import_run(batch_id=bill.pk)
        assert bill.status == ImportStatus.SUCCEEDED, bill.error
        assert bill.rows_imported == size
        counts.append(len(queries))
    assert counts[0] == counts[1]


class _Undo(Exception):
    pass


MONTHS = [THIS_MONTH, LAST_MONTH]
# Lines of up to 1.8M tokens over two months: most sequences carry a month across the tier, some
# within one import, some over several, and some never reach it.
LINE = st.tuples(
    st.sampled_from(range(len(MONTHS))),
    st.integers(min_value=0, max_value=900_000),
    st.integers(min_value=0, max_value=900_000),
).filter(lambda line: line[1] or line[2])

# An import's lines, and whether it also carries the lines of the import before it again (rows
# already imported: duplicates, not written twice, nor counted twice in the month's volume).
IMPORT = st.tuples(st.lists(LINE, min_size=1, max_size=3), st.booleans())


@settings(
    max_examples=int(os.environ.get("HYPOTHESIS_SERVICE_EXAMPLES", 12)),
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(imports=st.lists(IMPORT, min_size=2, max_size=4))
def test_after_any_imports_every_row_costs_at_its_months_final_volume_tier(cast, tiered, imports):
    try:
        with transaction.atomic():
            # When the imports run one after the other
            volume, previous = defaultdict(int), []
            for n, (lines, again) in enumerate(imports):
                fresh = [(MONTHS[m], i, o, f"{n}-{k}") for k, (m, i, o) in enumerate(lines)]
                _import(cast.finance, (previous if again else []) + fresh)
                for day, i, o, _account in fresh:
                    volume[day] += i + o
                previous = fresh

            # Then each row costs what its tokens cost at the tier of its month's final volume
            for record in SpendRecord.objects.filter(is_estimated=True):
                month = periods.month_start(record.charge_period_start.date())
                prices = VOLUME if volume[month] >= THRESHOLD else BASE
                price = prices[0] if record.token_type == "input" else prices[1]
                assert record.effective_cost == Decimal(record.quantity) * price / MILLION, (month, volume)
            found = model_month_volumes(model_ids={tiered.pk}, months=MONTHS)
            assert found == {(tiered.pk, m): v for m, v in volume.items() if v}
            raise _Undo
    except _Undo:
        pass
