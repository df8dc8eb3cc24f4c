"""A real bill, from upload to understanding: a generated multi-cloud FOCUS bill and every public
FOCUS sample, imported and read back by provider, service and account as the file names them, the
import's summary, and the tags it carries mapped to teams with a preview that holds."""

import csv
import io
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum
from django.urls import reverse

from aifinops.core.models import AuditEvent
from aifinops.core.testing.html import empty_choice
from showback.ingest.selectors import import_summary
from showback.ingest.services import spend_import_create, spend_import_run
from showback.models import AttributionRule, DailySpend, SpendRecord

from .multicloud import CLOUDS, multicloud_csv, multicloud_rows

pytestmark = [pytest.mark.django_db]
SAMPLES = sorted(
    p
    for p in (Path(__file__).resolve().parent / "data" / "focus").glob("*.csv")
    if p.name != "focus_columns_by_version.csv"
)
AI = "AI and Machine Learning"
ZERO = Decimal("0")


def _import(content, name="multicloud.csv"):
    batch = spend_import_create(
        actor=None,
        uploaded_file=SimpleUploadedFile(name, content),
        source_format="focus",
        mode="all_or_nothing",
        queue=False,
    )
    batch = spend_import_run(batch_id=batch.pk)
    assert batch.status == "succeeded", batch.error
    return batch


def _money(text):
    # Independently of the importers: "$10,000.00 " is ten thousand dollars; blank is nothing.
    text = (text or "").strip().replace("$", "").replace(",", "")
    return Decimal(text) if text and text.upper() not in ("NULL", "NONE", "NAN") else None


def _sums(rows, key, figure="BilledCost"):
    sums = defaultdict(Decimal)
    for r in rows:
        billed = _money(r["BilledCost"])
        value = _money(r[figure])
        value = value if value is not None else billed
        sums[key(r)] += value
    return dict(sums)


def _rollup_sums(field, figure="billed_cost", **filters):
    return {
        r[field]: r["total"]
        for r in DailySpend.objects.filter(**filters).values(field).annotate(total=Sum(figure)).order_by()
    }


def test_a_multicloud_bill_adds_up_per_provider_service_account_and_charge_as_the_file_names_them():
    # Given a bill of four clouds, AI and not, with credits, discounts, a commitment and tax
    rows = multicloud_rows()

    # When it is imported
    batch = _import(multicloud_csv(rows))

    # Then the rollups every page reads hold the file's own names and the file's sums, exactly
    assert batch.rows_imported == len(rows)
    provider = lambda r: r["ProviderName"]  # noqa: E731
    assert _rollup_sums("provider_name") == _sums(rows, provider)
    assert _rollup_sums("provider_name", "effective_cost") == _sums(rows, provider, "EffectiveCost")
    assert _rollup_sums("provider_name", "list_cost") == _sums(rows, provider, "ListCost")
    assert _rollup_sums("service_name") == _sums(rows, lambda r: r["ServiceName"])
    assert _rollup_sums("billing_account") == _sums(rows, lambda r: r["BillingAccountId"])
    assert _rollup_sums("sub_account") == _sums(rows, lambda r: r["SubAccountId"])
    assert _rollup_sums("region") == _sums(rows, lambda r: r["RegionName"])
    assert _rollup_sums("charge_category") == _sums(rows, lambda r: r["ChargeCategory"])
    assert _rollup_sums("service_category") == _sums(rows, lambda r: r["ServiceCategory"])
    ai_rows = [r for r in rows if r["ServiceCategory"] == AI]
    assert _rollup_sums("provider_name", is_ai=True) == _sums(ai_rows, provider)
    assert set(_rollup_sums("provider_name")) == {c[0] for c in CLOUDS}


def test_showback_by_provider_names_the_clouds_of_the_bill_not_one_unknown(login, cast):
    rows = multicloud_rows()
    batch = _import(multicloud_csv(rows))
    client = login(cast.finance)
    scope = {"start": batch.period_start, "end": batch.period_end, "import": batch.pk, "ai": "all"}

    response = client.get(reverse("showback:index"), {**scope, "by": "provider"})

    assert response.status_code == 200
    shown = {r["label"]: r["spend"] for r in response.context["breakdown"]["rows"]}
    assert shown == _sums(rows, lambda r: r["ProviderName"], "EffectiveCost")
    assert "Unknown" not in shown
    for name in ("Amazon Web Services", "Microsoft", "Google Cloud", "Oracle"):
        assert name in response.text
    # What drives it, in plain words: none of the bill is in a use case or on a catalog model yet
    explanation = response.context["breakdown"]["explanation"]
    assert explanation == "Most of the spend is in no use case, on no model the catalog knows (100%)."

    # AI only: the AI services' spend alone
    ai = client.get(reverse("showback:index"), {**scope, "ai": "ai", "by": "service"})
    ai_rows = [r for r in rows if r["ServiceCategory"] == AI]
    assert {r["label"]: r["spend"] for r in ai.context["breakdown"]["rows"]} == _sums(
        ai_rows, lambda r: r["ServiceName"], "EffectiveCost"
    )

    # Filtered to one provider, by service and by region
    oracle = client.get(reverse("showback:index"), {**scope, "provider": "Oracle", "by": "service"})
    oracle_rows = [r for r in rows if r["ProviderName"] == "Oracle"]
    assert {r["label"]: r["spend"] for r in oracle.context["breakdown"]["rows"]} == _sums(
        oracle_rows, lambda r: r["ServiceName"], "EffectiveCost"
    )
    assert "Provider: Oracle" in oracle.text
    by_region = client.get(reverse("showback:index"), {**scope, "by": "region", "region": "East US"})
    assert [r["label"] for r in by_region.context["breakdown"]["rows"]] == ["East US"]


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_every_focus_sample_reads_back_by_the_providers_and_services_it_names(path, login, cast):
    content = path.read_bytes()
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    batch = _import(content, name=path.name)

    def provider(r):
        return (r.get("ServiceProviderName") or "").strip() or (r.get("ProviderName") or "").strip()

    # Byte-identical rows are one charge: the file's distinct rows are what it bills.
    distinct = list({tuple(sorted(r.items())): r for r in rows}.values())
    assert _rollup_sums("provider_name") == _sums(distinct, provider)
    assert _rollup_sums("service_name") == _sums(distinct, lambda r: (r.get("ServiceName") or "").strip())
    response = login(cast.finance).get(
        reverse("showback:index"),
        {
            "start": batch.period_start,
            "end": batch.period_end,
            "import": batch.pk,
            "ai": "all",
            "by": "provider",
        },
    )
    labels = {r["label"] for r in response.context["breakdown"]["rows"]}
    assert labels == {provider(r) or "Unknown" for r in distinct}


def test_the_import_summary_says_what_the_file_became(login, cast):
    rows = multicloud_rows()
    batch = _import(multicloud_csv(rows))

    summary = import_summary(batch=batch)["USD"]

    ai = [r for r in rows if r["ServiceCategory"] == AI]
    non_ai = [r for r in rows if r["ServiceCategory"] != AI]
    total = lambda rs, col: sum((_money(r[col]) for r in rs), ZERO)  # noqa: E731
    assert (summary["ai"]["rows"], summary["non_ai"]["rows"]) == (len(ai), len(non_ai))
    assert summary["ai"]["billed"] == total(ai, "BilledCost")
    assert summary["non_ai"]["effective"] == total(non_ai, "EffectiveCost")
    assert summary["all"]["listed"] == total(rows, "ListCost")
    assert summary["unattributed"]["rows"] == len(rows)
    assert summary["attributed"]["rows"] == 0
    by_charge = {c["category"]: c for c in summary["by_charge"]}
    assert by_charge["purchase"]["billed"] == Decimal("300")
    assert by_charge["purchase"]["effective"] == ZERO
    assert by_charge["credit"]["billed"] == Decimal("-25")
    assert by_charge["tax"]["billed"] == Decimal("4.2")
    assert by_charge["adjustment"]["corrections"] == 1
    assert summary["billed_minus_effective"] == total(rows, "BilledCost") - total(rows, "EffectiveCost")

    page = login(cast.finance).get(reverse("showback:import_detail", args=[batch.pk]))

    assert page.status_code == 200
    text = page.text
    assert "What the file became" in text
    assert "Not AI spend" in text and "Credits and refunds" in text and "Taxes" in text
    assert f"{len(ai)}" in text
    link = page.context["showback_url"]
    assert f"start={batch.period_start.isoformat()}" in link
    assert f"end={batch.period_end.isoformat()}" in link
    assert f"import={batch.pk}" in link and "ai=all" in link


def test_the_unattributed_page_takes_one_import_and_counts_the_tags_its_spend_carries(login, cast):
    rows = multicloud_rows()
    batch = _import(multicloud_csv(rows))
    client = login(cast.finance)

    page = client.get(reverse("showback:unattributed"), {"import": batch.pk, "ai": "all"})

    carrying = [r for r in rows if '"business_unit"' in r["Tags"]]
    keys = {k["key"]: k for k in page.context["tag_keys"]}
    assert keys["business_unit"]["rows"] == len(carrying)
    assert keys["business_unit"]["values"] == 3
    assert f"{len(carrying)}</strong> rows carry <code>business_unit</code>" in page.text
    # The default, the last 90 days of AI spend, may or may not reach last month's bill; a period
    # that ends before it holds none of it.
    before = client.get(
        reverse("showback:unattributed"), {"end": "2000-01-01", "start": "1999-01-01", "ai": "all"}
    )
    assert before.context["tag_keys"] == []


def test_mapping_a_tag_key_to_teams_attributes_exactly_what_the_preview_said(login, cast):
    rows = multicloud_rows()
    batch = _import(multicloud_csv(rows))
    client = login(cast.finance)
    url = reverse("showback:tag_mapping") + f"?key=business_unit&import={batch.pk}&ai=all"
    listed = client.get(url)
    values = [v["value"] for v in listed.context["values"]]
    assert sorted(values) == ["platform", "retail", "wholesale"]
    # Each value's dropdowns say what leaving them empty means
    assert empty_choice(listed.content.decode(), "map-0-team") == "No team"
    assert empty_choice(listed.content.decode(), "map-0-use_case") == "No use case"
    form = {"key": "business_unit"}
    choice = {"retail": cast.team_a.slug, "wholesale": cast.team_b.slug}
    for n, value in enumerate(values):
        form[f"map-{n}-value"] = value
        form[f"map-{n}-team"] = choice.get(value, "")

    # When finance previews the mapping
    preview = client.post(url, {**form, "action": "preview"})

    # Then each value shows what its rule would attribute, and nothing is written yet
    assert preview.status_code == 200
    shown = {v["value"]: v["preview"] for v in preview.context["values"]}
    assert shown["platform"] is None
    assert not AttributionRule.objects.exists()
    expected = {
        value: _sums(
            [r for r in rows if f'"business_unit": "{value}"' in r["Tags"]], lambda r: "USD", "EffectiveCost"
        )
        for value in choice
    }
    for value in choice:
        assert shown[value]["totals"] == expected[value]

    # When they make the rules
    done = client.post(url, {**form, "action": "apply"}, follow=True)

    # Then the rules attributed exactly what the preview said, audited, and showback shows the teams
    assert done.status_code == 200
    for value, team in choice.items():
        rule = AttributionRule.objects.get(match_key="business_unit", match_value=value)
        attributed = SpendRecord.objects.filter(attributed_by__contains=f"rule:{rule.pk}", team__slug=team)
        assert attributed.count() == shown[value]["rows"]
        assert attributed.aggregate(t=Sum("effective_cost"))["t"] == shown[value]["totals"]["USD"]
    event = AuditEvent.objects.get(action="attribution.tag_mapping")
    assert event.after["tag_key"] == "business_unit"
    assert AuditEvent.objects.filter(action="attribution_rule.create").count() == 2
    by_team = client.get(
        reverse("showback:index"),
        {"start": batch.period_start, "end": batch.period_end, "import": batch.pk, "ai": "all", "by": "team"},
    )
    teams = {r["label"]: r["spend"] for r in by_team.context["breakdown"]["rows"]}
    assert teams["Support"] == expected["retail"]["USD"]
    assert teams["Marketing"] == expected["wholesale"]["USD"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"provider": "AWS\x00"}, "provider"),
        ({"region": "x" * 5000}, "region"),
        ({"import": "abc"}, "import"),
        ({"import": "0"}, "import"),
        ({"import": "-3"}, "import"),
        ({"import": str(2**70)}, "import"),
    ],
)
def test_the_showback_page_refuses_filters_no_bill_holds_naming_the_field(login, cast, params, field):
    response = login(cast.finance).get(reverse("showback:index"), params)
    assert response.status_code == 400
    assert f"“{field}”" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "post", "field"),
    [
        ("?key=bu%00", {}, "key"),
        ("?key=" + "k" * 500, {}, "key"),
        ("?key=bu&import=x", {}, "import"),
        ("?key=bu&start=2026-13-01", {}, "start"),
        (
            "?key=bu",
            {"map-0-value": "a", "map-0-team": "support", "map-1-value": "a", "map-1-team": "support"},
            "map-1-value",
        ),
        ("?key=bu", {"map-0-value": "a", "map-0-team": "nobody"}, "map-0-team"),
        ("?key=bu", {"map-0-value": "a\x00", "map-0-team": "support"}, "map-0-value"),
        ("?key=bu", {"map-0-value": "a", "map-0-use_case": "u" * 1000}, "map-0-use_case"),
        ("?key=bu", {"map-0-value": "", "map-0-team": "support"}, "map-0-value"),
    ],
)
def test_the_tag_mapping_refuses_what_it_cannot_map_naming_the_field(login, cast, query, post, field):
    client = login(cast.finance)
    url = reverse("showback:tag_mapping") + query
    response = client.post(url, {"key": "bu", **post, "action": "apply"}) if post else client.get(url)
    assert response.status_code == 400
    assert f"“{field}”" in response.content.decode()
    assert not AttributionRule.objects.exists()


def test_the_pages_keep_a_constant_number_of_queries_as_the_bill_grows(
    login, cast, django_assert_max_num_queries
):
    client = login(cast.finance)
    small = _import(multicloud_csv(multicloud_rows()[:40]), name="small.csv")
    urls = [
        reverse("showback:import_detail", args=[small.pk]),
        reverse("showback:unattributed") + "?ai=all&start=2000-01-01&end=2100-01-01",
        reverse("showback:tag_mapping") + "?key=business_unit&ai=all&start=2000-01-01&end=2100-01-01",
        reverse("showback:index") + "?by=provider&ai=all&start=2000-01-01&end=2100-01-01",
    ]
    counts = {}
    for url in urls:
        with django_assert_max_num_queries(40) as captured:
            assert client.get(url).status_code == 200
        counts[url] = len(captured.captured_queries)
    _import(multicloud_csv(multicloud_rows(seed=99)), name="large.csv")
    for url in urls:
        with django_assert_max_num_queries(counts[url]):
            assert client.get(url).status_code == 200
