"""The commitments API: the pages' figures from the same selectors, entry by hand and the FOCUS 1.3
import through the same services (audited), the permission rule, and the attacker's inputs."""

import json
from decimal import Decimal

import pytest
from django.urls import reverse

from aifinops.core.models import AuditEvent
from aifinops.core.services import api_token_create
from portfolio.tests.factories import AIModelFactory, ProviderFactory
from showback.commitments import selectors
from showback.models import Commitment

from .test_commitment_pages import GOOD, HEADER, _form, _row, world  # noqa: F401

pytestmark = pytest.mark.django_db

D = Decimal
LIST = "/api/v1/commitments/"
IMPORT = "/api/v1/commitments/import/"


@pytest.fixture
def api(client):
    def as_user(user):
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {api_token_create(user=user, name='tests')[1]}"
        return client

    return as_user


def _d(text):
    return None if text is None else D(text)


def test_the_list_and_detail_give_the_pages_figures(world, cast, api, login):  # noqa: F811
    # Given a commitment with usage in its first month, when finance asks the API
    client = api(cast.finance)
    listed = client.get(LIST).json()
    detail = client.get(f"{LIST}{world.pk}/").json()

    # Then the figures are those of the selector the pages read
    view = selectors.commitment_get(pk=world.pk)
    totals = view.totals_to_date
    assert listed["count"] == 1
    row = listed["results"][0]
    assert row["id"] == world.pk and row["provider"] == "azure-openai" and row["models_covered"] == ["gpt-4o"]
    for body in (row, detail):
        assert _d(body["to_date"]["committed"]) == totals.committed
        assert _d(body["to_date"]["used"]) == totals.used
        assert _d(body["to_date"]["saving"]) == totals.saving
        assert _d(body["to_date"]["utilisation"]) == totals.utilisation.quantize(D("0.000001"))
        assert _d(body["to_date"]["coverage"]) == 1
    rows, waste = view.amortised_rows()
    assert {(r["use_case"], _d(r["amount"])) for r in detail["amortised_to_date"]} == {
        (uc.key, amount) for uc, amount in rows
    }
    assert {r["use_case"] for r in detail["amortised_to_date"]} == {"support-summarizer", "campaign-writer"}
    assert _d(detail["waste_to_date"]) == waste
    first = detail["months"][0]
    assert (first["state"], _d(first["covered_usage"]), _d(first["billed_under_it"])) == (
        "done",
        D(400),
        D("12.50"),
    )
    assert "months" not in row
    # and the page shows the same saving
    page = login(cast.finance).get(reverse("showback:commitment_detail", args=[world.pk]))
    assert page.context["v"].totals_to_date.saving == _d(detail["to_date"]["saving"])


@pytest.mark.parametrize(
    ("persona", "answer"),
    [
        ("requester_a", 403),
        ("owner", 403),
        ("council", 403),
        ("chair", 403),
        ("finance", 200),
        ("admin", 200),
    ],
)
def test_only_finance_and_admins_see_commitments(world, cast, api, persona, answer):  # noqa: F811
    client = api(getattr(cast, persona))

    assert client.get(LIST).status_code == answer
    assert client.get(f"{LIST}{world.pk}/").status_code == answer


def test_anonymous_callers_get_401(client, world):  # noqa: F811
    assert client.get(LIST).status_code == 401
    assert client.get(f"{LIST}{world.pk}/").status_code == 401
    assert client.post(IMPORT).status_code == 401


def test_a_commitment_that_does_not_exist_is_404(cast, api):
    assert api(cast.finance).get(f"{LIST}99999999999999999999/").status_code == 404


def _body(of, **overrides):
    data = {**_form(), "provider": of.slug}
    data.update(overrides)
    return data


def test_finance_records_a_commitment_through_the_pages_service_audited(cast, api):
    provider = ProviderFactory(name="AWS Bedrock", slug="aws-bedrock")
    model = AIModelFactory(provider=provider, key="claude-sonnet")

    refused = api(cast.requester_a).post(LIST, _body(provider), content_type="application/json")
    assert refused.status_code == 403 and not Commitment.objects.exists()

    response = api(cast.finance).post(
        LIST, _body(provider, models_covered=[model.key, model.key]), content_type="application/json"
    )

    assert response.status_code == 201, response.json()
    commitment = Commitment.objects.get()
    assert response.json()["id"] == commitment.pk and response.json()["models_covered"] == ["claude-sonnet"]
    assert commitment.total_cost == D("360000.00") and commitment.source == "manual"
    event = AuditEvent.objects.get(action="commitment.create")
    assert event.actor == cast.finance and event.after["models"] == ["claude-sonnet"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "x" * 10_000}, "name"),
        ({"name": ""}, "name"),
        ({"capacity_units": "-2"}, "capacity_units"),
        ({"capacity_units": -2}, "capacity_units"),
        ({"unit_price": "1e30"}, "unit_price"),
        ({"unit_price": 10**40}, "unit_price"),
        ({"unit_price": "NaN"}, "unit_price"),
        ({"term_start": "2026-02-30"}, "term_start"),
        ({"term_end": "2000-01-01"}, "term_end"),
        ({"currency": "XXQ"}, "currency"),
        ({"category": "spend", "committed_amount": ""}, "committed_amount"),
        ({"provider": "no-such-provider"}, "provider"),
        ({"provider": {"slug": "aws-bedrock"}}, "provider"),
        ({"models_covered": ["nope", "nope"]}, "models_covered"),
        ({"models_covered": ["someone-elses-model"]}, "models_covered"),
        ({"models_covered": [{"deep": [[[]]]}]}, "models_covered"),
    ],
)
def test_hand_entry_refuses_bad_input_naming_the_field_and_writes_nothing(cast, api, overrides, field):
    provider = ProviderFactory(name="AWS Bedrock", slug="aws-bedrock")
    AIModelFactory(provider=ProviderFactory(name="Other", slug="other"), key="someone-elses-model")

    response = api(cast.finance).post(LIST, _body(provider, **overrides), content_type="application/json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"], response.json()
    assert not Commitment.objects.exists()
    assert not AuditEvent.objects.filter(action="commitment.create").exists()


@pytest.mark.parametrize(
    ("raw", "field"),
    [('"PTU\\u0000"', "name"), ('"\\ud800"', "name"), ('"aws\\u0000"', "provider")],
)
def test_nul_and_lone_surrogates_are_refused_by_field(cast, api, raw, field):
    provider = ProviderFactory(name="AWS Bedrock", slug="aws-bedrock")
    body = json.dumps({k: v for k, v in _body(provider).items() if k != field})[:-1] + f', "{field}": {raw}}}'

    response = api(cast.finance).post(LIST, body, content_type="application/json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Commitment.objects.exists()


def test_a_form_encoded_nul_is_refused_by_field(cast, api):
    provider = ProviderFactory(name="AWS Bedrock", slug="aws-bedrock")

    response = api(cast.finance).post(LIST, _body(provider, provider="aws\x00"))

    assert response.status_code == 400
    assert "provider" in response.json()["error"]["fields"]


def test_deep_json_is_refused(cast, api):
    response = api(cast.finance).post(LIST, "[" * 5000 + "]" * 5000, content_type="application/json")

    assert response.status_code == 400


def test_the_focus_file_imports_by_multipart_and_as_a_csv_body_audited(cast, api):
    ProviderFactory(name="Azure OpenAI", slug="azure-openai")
    client = api(cast.finance)

    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("c.csv", (HEADER + "\n".join(GOOD) + "\n").encode(), content_type="text/csv")
    first = client.post(IMPORT, {"provider": "azure-openai", "file": upload})
    assert first.status_code == 201, first.json()
    assert first.json() == {"created": 2, "updated": 0}

    again = client.post(
        f"{IMPORT}?provider=azure-openai",
        HEADER + GOOD[0].replace("360000", "300000") + "\n",
        content_type="text/csv",
    )
    assert again.status_code == 201, again.json()
    assert again.json() == {"created": 0, "updated": 1}
    assert Commitment.objects.get(commitment_id="cc-1").committed_amount == D(300000)
    assert AuditEvent.objects.filter(action="commitment.import").count() == 3


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (HEADER + _row(ContractCommitmentId="cc\x00x"), "ContractCommitmentId"),
        (HEADER + _row(ContractCommitmentCost="1e40"), "ContractCommitmentCost"),
        (HEADER + _row(ContractCommitmentCost="-5"), "ContractCommitmentCost"),
        (HEADER + _row() + "\n" + _row(), "ContractCommitmentId"),
        ("", "required"),
        (HEADER.encode() + b"cc-1,\xed\xa0\x80\n", "UTF-8"),
        ((HEADER + "\n".join(_row(ContractCommitmentId=f"cc-{i}") for i in range(100_000))), "split it"),
    ],
)
def test_a_bad_file_is_a_400_naming_the_line_and_column_and_imports_nothing(cast, api, content, words):
    ProviderFactory(name="Azure OpenAI", slug="azure-openai")
    body = content if isinstance(content, bytes) else content.encode()

    response = api(cast.finance).post(f"{IMPORT}?provider=azure-openai", body, content_type="text/csv")

    assert response.status_code == 400
    error = response.json()["error"]
    assert "file" in error["fields"]
    assert words in " ".join(error["fields"]["file"])
    assert not Commitment.objects.exists()


@pytest.mark.parametrize("provider", ["", "nope", "azure\x00", "x" * 5000])
def test_the_import_names_a_bad_provider(cast, api, provider):
    ProviderFactory(name="Azure OpenAI", slug="azure-openai")
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("c.csv", (HEADER + GOOD[0]).encode(), content_type="text/csv")

    response = api(cast.finance).post(IMPORT, {"provider": provider, "file": upload})

    assert response.status_code == 400
    assert "provider" in response.json()["error"]["fields"]


def test_the_import_is_refused_to_a_requester(cast, api):
    ProviderFactory(name="Azure OpenAI", slug="azure-openai")

    response = api(cast.requester_a).post(
        f"{IMPORT}?provider=azure-openai", HEADER + GOOD[0], content_type="text/csv"
    )

    assert response.status_code == 403
    assert not Commitment.objects.exists()


def test_the_list_keeps_its_query_count_as_commitments_grow(world, cast, api, django_assert_max_num_queries):  # noqa: F811
    client = api(cast.finance)
    client.get(LIST)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(LIST)
    for i in range(5):
        more = Commitment.objects.create(
            name=f"More {i}",
            provider=world.provider,
            category="spend",
            term_start=world.term_start,
            term_end=world.term_end,
            committed_amount=D(100),
        )
        more.models_covered.set(world.models_covered.all())

    with django_assert_max_num_queries(len(few)):
        assert client.get(LIST).json()["count"] == 6
