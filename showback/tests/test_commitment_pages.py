"""Commitments: utilisation, coverage, saving and amortisation on factory data against figures
worked out here by hand; the pages, their permissions and query counts; hand entry and the FOCUS
1.3 contract-commitment import with the attacker's inputs."""

import datetime
import gzip
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from aifinops.core import periods
from aifinops.core.models import AuditEvent
from portfolio.models import PriceBookEntry
from portfolio.tests.factories import AIModelFactory, ProviderFactory
from showback.models import Commitment, DailySpend, SpendRecord
from showback.tests.factories import DailySpendFactory

pytestmark = pytest.mark.django_db

D = Decimal
CENT = D("0.01")


def _month(n_back):
    return periods.months_back(periods.today(), n_back)


@pytest.fixture
def world(cast):
    """A committed spend of 1,000 over the last two complete months on one model of one provider;
    in the first month use case A drew 240 (worth 300 on demand) and B 160 (worth 200); the second
    month had no usage. Spend on another model and on another provider is not covered."""
    provider = ProviderFactory(name="Azure OpenAI", slug="azure-openai")
    model = AIModelFactory(provider=provider, key="gpt-4o", name="GPT-4o")
    other_model = AIModelFactory(provider=provider, key="gpt-4o-mini", name="GPT-4o mini")
    other_provider = ProviderFactory(name="Anthropic", slug="anthropic")
    first, second = _month(2), _month(1)
    commitment = Commitment.objects.create(
        name="Azure committed spend",
        provider=provider,
        category="spend",
        term_start=first,
        term_end=periods.month_end(second),
        committed_amount=D("1000.00"),
        commitment_id="cc-azure-1",
    )
    commitment.models_covered.set([model])

    def spend(use_case, day, effective, **extra):
        return DailySpendFactory(
            date=day,
            use_case=use_case,
            team=use_case.team if use_case else None,
            currency="USD",
            effective_cost=D(effective),
            billed_cost=D(effective),
            list_cost=D(effective),
            **extra,
        )

    # 50M input at 2 + 25M output at 8 a million = 300 on demand
    spend(
        cast.use_case_a,
        first,
        "240",
        provider=provider,
        model=model,
        input_tokens=50_000_000,
        output_tokens=25_000_000,
    )
    # 100M input at 2 a million = 200 on demand
    spend(
        cast.use_case_b,
        first + datetime.timedelta(days=3),
        "160",
        provider=provider,
        model=model,
        input_tokens=100_000_000,
    )
    spend(cast.use_case_a, first, "999", provider=provider, model=other_model, input_tokens=1_000)
    spend(cast.use_case_a, first, "777", provider=other_provider)
    # a bill row naming the commitment in ContractApplied (FOCUS 1.3)
    SpendRecord.objects.create(
        source="focus",
        source_row_key="linked-1",
        charge_period_start=datetime.datetime.combine(first, datetime.time(), tzinfo=datetime.UTC),
        charge_period_end=datetime.datetime.combine(first, datetime.time(), tzinfo=datetime.UTC)
        + datetime.timedelta(days=1),
        billed_cost=D("12.50"),
        currency="USD",
        raw_extras={"ContractApplied": '{"Elements": [{"ContractCommitmentId": "cc-azure-1"}]}'},
    )
    return commitment


def test_utilisation_coverage_saving_and_amortisation_match_an_independent_computation(world, cast):
    from showback.commitments import selectors

    view = selectors.commitment_get(pk=world.pk)

    first, second = _month(2), _month(1)
    d1 = (periods.month_end(first) - first).days + 1
    d2 = (periods.month_end(second) - second).days + 1
    c1 = (D(1000) * d1 / (d1 + d2)).quantize(CENT)
    c2 = D(1000) - c1
    m1, m2 = view.months
    assert (m1.month, m1.committed, m2.month, m2.committed) == (first, c1, second, c2)
    # month 1: 400 drawn of c1, all of the covered usage ran under it, worth 500 on demand
    assert m1.draw == 400
    assert m1.utilisation == D(400) / c1
    assert m1.coverage == 1
    assert m1.saving == D(500) - c1
    assert m1.amortised == {
        cast.use_case_a.pk: D("240.00"),
        cast.use_case_b.pk: D("160.00"),
        "waste": c1 - 400,
    }
    assert m1.linked_billed == D("12.50")
    # month 2: nothing used, all waste
    assert (m2.draw, m2.utilisation, m2.coverage, m2.saving) == (0, 0, None, -c2)
    assert m2.amortised == {"waste": c2}
    totals = view.totals_to_date
    assert totals.committed == D(1000)
    assert totals.utilisation == D("0.4")
    assert totals.saving == D(-500)
    rows, waste = view.amortised_rows()
    assert [(uc.pk, amount) for uc, amount in rows] == [
        (cast.use_case_a.pk, D(240)),
        (cast.use_case_b.pk, D(160)),
    ]
    assert waste == D(600)
    assert sum(a for _, a in rows) + waste == D(1000)


def test_covered_usage_billed_in_another_currency_counts_at_the_days_rate_and_a_day_without_one_is_named(
    world, cast, login
):
    from showback.commitments import selectors
    from showback.models import ExchangeRate

    # Given the covered model also billed in EUR on two days of the first month, with a EUR->USD
    # rate recorded from the second of those days on
    model = world.models_covered.get()
    first = _month(2)
    early, late = first + datetime.timedelta(days=1), first + datetime.timedelta(days=10)
    ExchangeRate.objects.create(base="EUR", quote="USD", rate=D("1.10"), valid_from=late, source="ECB")
    for day, amount in ((early, "30"), (late, "100")):
        DailySpendFactory(
            date=day,
            use_case=cast.use_case_b,
            team=cast.use_case_b.team,
            currency="EUR",
            provider=world.provider,
            model=model,
            effective_cost=D(amount),
            billed_cost=D(amount),
            list_cost=D(amount),
        )

    view = selectors.commitment_get(pk=world.pk)

    # Then the EUR 100 of the day with a rate counts as USD 110 of use case B's draw
    m1 = view.months[0]
    assert m1.draw == D(400) + D("110")
    # and B's share of the month's cost is its 160 + 110 of the 510 drawn (the month costs less
    # than was drawn, so all of it is amortised by share, to the cent)
    share = m1.committed * D(270) / D(510)
    assert abs(m1.amortised[cast.use_case_b.pk] - share) <= CENT
    assert sum(m1.amortised.values()) == m1.committed
    # and the EUR 30 of the day before any rate is named, never taken at 1
    (missing,) = view.missing
    assert (missing.currency, missing.amount, missing.first, missing.last) == ("EUR", D(30), early, early)
    page = login(cast.finance).get(reverse("showback:commitment_detail", args=[world.pk]))
    assert b'data-testid="missing-rate"' in page.content and "€30.00" in page.content.decode()


def test_on_demand_is_the_list_price_in_force_on_the_day_so_a_mid_term_change_moves_later_months_only(
    world, cast
):
    from showback.commitments import selectors

    # Given the book's list price of the covered model halves from the second month of the term,
    # a negotiated price the company pays (not on-demand: ignored), and covered usage in both months
    model = world.models_covered.get()
    first, second = _month(2), _month(1)
    for kind, since, inp, out in (
        ("list", first, "2", "8"),
        ("list", second, "1", "4"),
        ("negotiated", first, "0.5", "1"),
    ):
        PriceBookEntry.objects.create(
            model=model,
            kind=kind,
            effective_from=since,
            input_price_per_mtok=D(inp),
            output_price_per_mtok=D(out),
        )
    DailySpendFactory(
        date=second + datetime.timedelta(days=2),
        use_case=cast.use_case_a,
        team=cast.use_case_a.team,
        provider=world.provider,
        model=model,
        currency="USD",
        effective_cost=D("90"),
        list_cost=D("90"),
        input_tokens=50_000_000,
        output_tokens=25_000_000,
    )

    # When the commitment is read
    m1, m2 = selectors.commitment_get(pk=world.pk).months

    # Then the first month is worth 500 at the first list price (50M x 2 + 25M x 8 + 100M x 2)
    # and the second 150 at the new one (50M x 1 + 25M x 4)
    assert m1.on_demand == D(500)
    assert m2.on_demand == D(150)


def test_finance_sees_the_commitment_pages_with_their_figures_and_others_are_refused(world, cast, login):
    client = login(cast.finance)
    page = client.get(reverse("showback:commitment_list"))
    assert page.status_code == 200
    assert "Azure committed spend" in page.text and "40 %" in page.text
    detail = client.get(reverse("showback:commitment_detail", args=[world.pk]))
    assert detail.status_code == 200
    assert 'data-testid="saving">-$500.00<' in detail.text
    assert "Support summarizer" in detail.text and "Unused (waste)" in detail.text
    for user in (cast.requester_a, cast.owner, cast.chair):
        assert login(user).get(reverse("showback:commitment_list")).status_code == 403
        assert login(user).get(reverse("showback:commitment_detail", args=[world.pk])).status_code == 403
    assert (
        login(cast.finance).get(reverse("showback:commitment_detail", args=[world.pk + 999])).status_code
        == 404
    )


def test_the_commitment_pages_keep_their_query_count_as_commitments_and_spend_grow(
    world, cast, login, django_assert_max_num_queries
):
    client = login(cast.finance)
    with django_assert_max_num_queries(40) as few:
        client.get(reverse("showback:commitment_list"))
    baseline = len(few.captured_queries)
    for i in range(6):
        more = Commitment.objects.create(
            name=f"More {i}",
            provider=world.provider,
            category="usage",
            term_start=_month(3),
            term_end=periods.month_end(_month(1)),
            capacity_units=D(10),
            capacity_unit="PTU",
            unit_price=D(100),
        )
        more.models_covered.set(world.models_covered.all())
        DailySpendFactory(
            date=_month(3) + datetime.timedelta(days=i),
            use_case=cast.use_case_b,
            provider=world.provider,
            effective_cost=D(5),
        )
    with django_assert_max_num_queries(baseline):
        page = client.get(reverse("showback:commitment_list"))
    assert "More 5" in page.text
    with django_assert_max_num_queries(baseline):
        client.get(reverse("showback:commitment_detail", args=[more.pk]))


def _form(**overrides):
    data = {
        "name": "Bedrock provisioned throughput",
        "category": "usage",
        "term_start": _month(0).isoformat(),
        "term_end": (periods.add_months(_month(0), 12) - datetime.timedelta(days=1)).isoformat(),
        "capacity_units": "2",
        "capacity_unit": "model units",
        "unit_price": "15000",
        "currency": "USD",
        "billing": "monthly",
    }
    data.update(overrides)
    return data


def test_finance_records_a_commitment_by_hand_audited_and_a_requester_cannot(cast, login):
    provider = ProviderFactory(name="AWS Bedrock", slug="aws-bedrock")
    refused = login(cast.requester_a).post(reverse("showback:commitment_create"), _form(provider=provider.pk))
    assert refused.status_code == 403
    assert not Commitment.objects.exists()

    response = login(cast.finance).post(reverse("showback:commitment_create"), _form(provider=provider.pk))

    commitment = Commitment.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "showback:commitment_detail", args=[commitment.pk]
    )
    assert commitment.total_cost == D("360000.00")  # 2 units x 15,000 x 12 months
    assert sum(a for _, a in commitment.schedule()) == D("360000.00")
    event = AuditEvent.objects.get(action="commitment.create")
    assert event.actor == cast.finance and event.after["capacity"][1] == "model units"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "PTU\x00"}, "name"),
        ({"name": "x" * 10_000}, "name"),
        ({"capacity_units": "-2"}, "capacity_units"),
        ({"unit_price": "1e30"}, "unit_price"),
        ({"unit_price": "NaN"}, "unit_price"),
        ({"term_start": "2026-02-30"}, "term_start"),
        ({"term_end": "2000-01-01"}, "term_end"),
        ({"currency": "XXQ"}, "currency"),
        ({"category": "spend", "committed_amount": ""}, "committed_amount"),
        ({"provider": "999999"}, "provider"),
        ({"models_covered": ["1", "1", "999999"]}, "models_covered"),
    ],
)
def test_hand_entry_refuses_bad_input_naming_the_field_and_writes_nothing(cast, login, overrides, field):
    provider = ProviderFactory(name="AWS Bedrock", slug="aws-bedrock")
    response = login(cast.finance).post(
        reverse("showback:commitment_create"), _form(**{"provider": provider.pk, **overrides})
    )
    assert response.status_code == 400
    assert response.context["form"].errors.get(field), response.context["form"].errors
    assert not Commitment.objects.exists()
    assert not AuditEvent.objects.filter(action="commitment.create").exists()


HEADER = (
    "ContractCommitmentId,ContractId,ContractCommitmentCategory,ContractCommitmentCost,"
    "ContractCommitmentQuantity,ContractCommitmentUnit,ContractCommitmentPeriodStart,"
    "ContractCommitmentPeriodEnd,BillingCurrency,ContractCommitmentDescription\n"
)
GOOD = [
    "cc-1,ea-2026,Usage,360000,100,PTU,2026-01-01T00:00:00Z,2027-01-01T00:00:00Z,USD,Azure PTU GPT-4o",
    "cc-2,ea-2026,Spend,120000,,,2026-01-01T00:00:00Z,2027-01-01T00:00:00Z,USD,Committed spend",
]


def _upload(cast, login, content, *, user=None, provider=None):
    provider = provider or ProviderFactory(name="Azure OpenAI", slug="azure-openai")
    body = content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass")
    file = SimpleUploadedFile("commitments.csv", body, content_type="text/csv")
    return login(user or cast.finance).post(
        reverse("showback:commitment_import"), {"provider": provider.pk, "file": file}
    )


def test_the_focus_13_contract_commitment_file_imports_and_reimports_audited(cast, login):
    response = _upload(cast, login, HEADER + "\n".join(GOOD) + "\n")

    assert response.status_code == 302
    ptu, spend = Commitment.objects.order_by("commitment_id")
    assert (ptu.commitment_id, ptu.contract_id, ptu.category, ptu.capacity_units, ptu.capacity_unit) == (
        "cc-1",
        "ea-2026",
        "usage",
        D(100),
        "PTU",
    )
    assert (ptu.term_start, ptu.term_end, ptu.total_cost) == (
        datetime.date(2026, 1, 1),
        datetime.date(2026, 12, 31),
        D(360000),
    )
    assert ptu.name == "Azure PTU GPT-4o" and ptu.source == "focus"
    assert (spend.category, spend.committed_amount, spend.capacity_units) == ("spend", D(120000), None)
    assert AuditEvent.objects.filter(action="commitment.import").count() == 2

    again = _upload(cast, login, HEADER + GOOD[0].replace("360000", "300000") + "\n")
    assert again.status_code == 302
    assert Commitment.objects.count() == 2
    assert Commitment.objects.get(commitment_id="cc-1").committed_amount == D(300000)


def _row(**cells):
    names = HEADER.strip().split(",")
    values = dict(zip(names, GOOD[1].split(","), strict=True))
    values.update(cells)
    return ",".join(values[n] for n in names)


@pytest.mark.parametrize(
    ("content", "column"),
    [
        (HEADER + _row(ContractCommitmentId="cc\x00x"), "ContractCommitmentId"),
        (HEADER + _row(ContractCommitmentDescription="x" * 5000), "ContractCommitmentDescription"),
        (HEADER + _row(ContractCommitmentCost="1e40"), "ContractCommitmentCost"),
        (HEADER + _row(ContractCommitmentCost="NaN"), "ContractCommitmentCost"),
        (HEADER + _row(ContractCommitmentCost="-5"), "ContractCommitmentCost"),
        (HEADER + _row(ContractCommitmentCost=""), "ContractCommitmentCost"),
        (HEADER + _row(ContractCommitmentPeriodStart="2026-13-45"), "ContractCommitmentPeriodStart"),
        (HEADER + _row(ContractCommitmentPeriodEnd="2025-01-01T00:00:00Z"), "ContractCommitmentPeriodEnd"),
        (HEADER + _row(ContractCommitmentPeriodEnd="9999-01-01T00:00:00Z"), "ContractCommitmentPeriodEnd"),
        (HEADER + _row(BillingCurrency="ZZZ"), "BillingCurrency"),
        (HEADER + _row(ContractCommitmentCategory="Maybe"), "ContractCommitmentCategory"),
        (HEADER + _row() + "\n" + _row(), "ContractCommitmentId"),
        (HEADER.replace("ContractId,", ""), "ContractId"),
    ],
)
def test_a_bad_commitment_file_is_refused_naming_the_row_and_column_and_imports_nothing(
    cast, login, content, column
):
    response = _upload(cast, login, content)

    assert response.status_code == 400
    problems = response.context["problems"].problems
    assert any(p.column == column for p in problems), problems
    assert column in response.text
    assert not Commitment.objects.exists()
    assert not AuditEvent.objects.filter(action="commitment.import").exists()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "empty"),
        (
            HEADER.encode() + _row().encode()[:20] + b"\xed\xa0\x80\n",
            "not UTF-8",
        ),  # an encoded lone surrogate
        (gzip.compress((HEADER + GOOD[0]).encode() * 1000), "gzip"),
        (
            (HEADER + "\n".join(_row(ContractCommitmentId=f"cc-{i}") for i in range(100_000))).encode(),
            "split it",
        ),
        (
            (HEADER + "\n".join(_row(ContractCommitmentId=f"cc-{i}") for i in range(10_001))).encode(),
            "more than 10,000 rows",
        ),
    ],
)
def test_a_file_that_is_not_a_small_csv_is_refused_with_a_clear_message(cast, login, content, words):
    response = _upload(cast, login, content)

    assert response.status_code == 400
    assert words in response.text
    assert not Commitment.objects.exists()


def test_the_import_is_refused_to_a_requester_and_a_file_of_another_provider(cast, login):
    assert _upload(cast, login, HEADER + GOOD[0], user=cast.requester_a).status_code == 403
    content = HEADER.replace("\n", ",ServiceProviderName\n") + GOOD[0] + ",Google\n"
    response = _upload(cast, login, content)
    assert response.status_code == 400 and "ServiceProviderName" in response.text
    assert not Commitment.objects.exists()
    assert DailySpend.objects.count() == 0
