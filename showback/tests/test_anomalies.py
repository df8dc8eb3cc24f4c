"""Anomaly detection: the robust baseline on synthetic series, drift signals, the scan that stores
what it finds (once), and triage by the people responsible."""

import datetime
import math
import random
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from aifinops.core.models import AuditEvent, Notification
from portfolio.tests.factories import AIModelFactory, ProviderFactory, UseCaseFactory
from showback.analytics import anomalies, drift, services
from showback.analytics.selectors import open_high_severity_anomalies
from showback.analytics.tasks import scan_anomalies
from showback.models import Anomaly, AnomalyKind, AnomalyStatus, DailySpend, Severity
from showback.tests.analytics_factories import AnomalyFactory, daily_spend_rows

MONDAY = datetime.date(2025, 3, 3)


def _series(values, start=MONDAY):
    return {start + datetime.timedelta(days=i): Decimal(str(v)) for i, v in enumerate(values)}


# The detector on synthetic series.


def synthetic_series(seed, days=240):
    """A daily spend series with weekly seasonality, a trend and 10 % multiplicative noise; on 4 %
    of the days after the first four weeks, a spike multiplies the day by 1.5 to 4."""
    rng = random.Random(seed)
    level = math.exp(rng.uniform(math.log(20), math.log(5000)))
    weekend = rng.uniform(0.2, 1.0)
    trend = rng.uniform(-0.4, 0.6)
    start = MONDAY + datetime.timedelta(days=rng.randrange(7))
    series, spikes = {}, set()
    for i in range(days):
        day = start + datetime.timedelta(days=i)
        value = level * (1 + trend * i / days) * (weekend if day.weekday() >= 5 else 1)
        value *= max(0.5, rng.gauss(1, 0.10))
        if i >= anomalies.BASELINE_DAYS and rng.random() < 0.04:
            value *= rng.uniform(1.5, 4)
            spikes.add(day)
        series[day] = Decimal(str(round(value, 2)))
    return series, spikes, start


def test_on_synthetic_series_it_finds_nine_spikes_in_ten_and_flags_under_two_percent_of_normal_days():
    # Given 40 seeded series of 240 days (about 370 injected spikes, 8,000 normal days scored)
    found_spikes = missed = false_alarms = quiet_days = 0
    for seed in range(40):
        series, spikes, start = synthetic_series(seed)
        first_scored = start + datetime.timedelta(days=anomalies.BASELINE_DAYS)

        # When every day after the first four weeks is scored
        flagged = {s.date for s in anomalies.spike_scan(series, start=first_scored, end=max(series))}

        for day in series:
            if day < first_scored:
                continue
            if day in spikes:
                found_spikes += day in flagged
                missed += day not in flagged
            else:
                false_alarms += day in flagged
                quiet_days += day not in flagged

    # Then recall is at least 0.9 and the false-positive rate at most 0.02. (This generator gives
    # about 0.95 and 0.003; the margins absorb other seeds, not a weaker detector.)
    recall = found_spikes / (found_spikes + missed)
    false_positive_rate = false_alarms / (false_alarms + quiet_days)
    assert found_spikes + missed > 300
    assert recall >= 0.9, recall
    assert false_positive_rate <= 0.02, false_positive_rate


def test_a_saturday_is_compared_with_saturdays_not_with_the_working_week():
    # Given four weeks and five days of 100 a working day and 20 a weekend day
    series = _series([100, 102, 98, 101, 99, 20, 21] * 4 + [100, 102, 98, 101, 99])
    saturday = MONDAY + datetime.timedelta(days=33)
    monday = MONDAY + datetime.timedelta(days=28)

    # When the next Saturday spends what a weekday does
    series[saturday] = Decimal("100")

    # Then the Saturday is a spike against Saturdays, while a Monday at that level is normal
    spike = anomalies.spike_check(series, saturday)
    assert spike is not None
    assert spike.basis == "weekday"
    assert spike.expected == Decimal("20")
    assert spike.severity == Severity.HIGH
    assert anomalies.spike_check(series, monday) is None


def test_flat_spend_has_a_floor_under_its_spread():
    # Given spend of exactly 50 every day (a MAD of 0)
    series = _series([50] * 30)
    day = MONDAY + datetime.timedelta(days=30)

    # When a day spends 3 % more, or three times as much
    series[day] = Decimal("51.5")
    small = anomalies.spike_check(series, day)
    series[day] = Decimal("150")
    large = anomalies.spike_check(series, day)

    # Then the small rise is no spike (no division by zero either) and the large one is
    assert small is None
    assert large is not None and large.mad == Decimal("2.5")
    assert large.score == Decimal("0.6745") * 100 / Decimal("2.5")


def test_a_young_series_has_no_verdict_and_then_uses_all_days():
    series = _series([10] * 10 + [40])
    assert anomalies.spike_check(series, MONDAY + datetime.timedelta(days=10)) is None

    series = _series([10, 11, 9, 10, 12, 10, 9, 10, 11, 10, 9, 10, 11, 10, 10, 60])
    spike = anomalies.spike_check(series, MONDAY + datetime.timedelta(days=15))
    assert spike is not None and spike.basis == "all days"


def test_a_burst_that_repeats_every_month_end_is_flagged_only_until_it_is_a_pattern():
    # Given steady spend of 100 a day with a burst to 400 on the last day of each month
    start = datetime.date(2025, 1, 1)
    values = []
    for i in range(150):
        day = start + datetime.timedelta(days=i)
        last = (day + datetime.timedelta(days=1)).month != day.month
        values.append(400 if last else 100 + (i % 3))
    series = _series(values, start)

    # When the scan runs over five months
    flagged = {s.date for s in anomalies.spike_scan(series, start=start, end=max(series))}

    # Then January's and February's bursts are spikes; from March on they repeat the month
    assert datetime.date(2025, 1, 31) in flagged
    assert datetime.date(2025, 2, 28) in flagged
    assert datetime.date(2025, 3, 31) not in flagged
    assert datetime.date(2025, 4, 30) not in flagged


def test_the_owners_threshold_raises_the_bar():
    series = _series([100, 101, 99, 100, 102, 98, 100] * 4 + [130])
    day = MONDAY + datetime.timedelta(days=28)
    assert anomalies.spike_check(series, day) is not None
    assert anomalies.spike_check(series, day, min_rise_pct=Decimal("50")) is None


# Drift.


def _usage_days(n, start, **per_day):
    return {start + datetime.timedelta(days=i): drift.Usage(**per_day) for i in range(n)}


def test_cost_per_call_rising_is_a_drift_and_a_quiet_use_case_is_not():
    # Given four weeks at 0.01 a call, then a week at 0.016 a call (1,000 calls a day)
    start = datetime.date(2025, 5, 1)
    days = _usage_days(28, start, cost=Decimal("10"), requests=1000, input_tokens=50_000, output_tokens=5_000)
    days.update(
        _usage_days(
            7,
            start + datetime.timedelta(days=28),
            cost=Decimal("16"),
            requests=1000,
            input_tokens=50_000,
            output_tokens=5_000,
        )
    )
    last = start + datetime.timedelta(days=34)

    # When drift is read on the last day
    found = {d.kind: d for d in drift.drift_signals(days, day=last)}

    # Then cost per call rose 60 % (medium); the token ratio did not move
    assert set(found) == {"cost_per_call"}
    assert found["cost_per_call"].baseline == Decimal("0.01")
    assert found["cost_per_call"].recent == Decimal("0.016")
    assert found["cost_per_call"].severity == "medium"

    # And with 5 calls a day the same rise is noise
    quiet = {d: drift.Usage(cost=u.cost / 200, requests=5) for d, u in days.items()}
    assert drift.drift_signals(quiet, day=last) == []


def test_cache_share_falling_premium_share_and_output_ratio_rising():
    start = datetime.date(2025, 5, 1)
    days = _usage_days(
        28,
        start,
        cost=Decimal("100"),
        premium_cost=Decimal("10"),
        requests=500,
        input_tokens=40_000,
        cached_tokens=60_000,
        output_tokens=10_000,
    )
    days.update(
        _usage_days(
            7,
            start + datetime.timedelta(days=28),
            cost=Decimal("100"),
            premium_cost=Decimal("45"),
            requests=500,
            input_tokens=90_000,
            cached_tokens=10_000,
            output_tokens=30_000,
        )
    )
    found = {d.kind: d for d in drift.drift_signals(days, day=start + datetime.timedelta(days=34))}

    assert found["cache_share"].change == Decimal("-0.5")
    assert found["cache_share"].severity == "high"
    assert found["premium_share"].change == Decimal("0.35")
    assert found["output_ratio"].recent == Decimal("0.3")
    assert found["output_ratio"].severity == "high"
    assert "retry_rate" not in found


# The scan.


@pytest.fixture
def spiky(cast):
    """Support summarizer spends on two models for 60 days ending 2025-06-29, with a spike on the
    last day; Campaign writer spends steadily on one model."""
    provider = ProviderFactory(name="OpenAI", slug="openai")
    big = AIModelFactory(provider=provider, key="gpt-4.1", name="GPT-4.1", tier="frontier")
    small = AIModelFactory(provider=provider, key="gpt-4.1-mini", name="GPT-4.1 mini", tier="small")
    start = datetime.date(2025, 5, 1)
    steady = [100, 104, 97, 101, 99, 60, 58] * 9
    rows = [
        *daily_spend_rows(
            use_case=cast.use_case_a, provider=provider, model=big, costs=[*steady[:59], 900], start=start
        ),
        *daily_spend_rows(
            use_case=cast.use_case_a, provider=provider, model=small, costs=steady[:60], start=start
        ),
        *daily_spend_rows(
            use_case=cast.use_case_b, provider=provider, model=small, costs=steady[:60], start=start
        ),
    ]
    DailySpend.objects.bulk_create(rows)
    return {"day": start + datetime.timedelta(days=59), "big": big, "small": small}


def test_the_scan_stores_the_spike_of_the_use_case_and_of_its_model_once(
    cast, spiky, django_capture_on_commit_callbacks
):
    # When the scan runs for the last day, twice
    with django_capture_on_commit_callbacks(execute=True):
        created = services.anomalies_scan(day=spiky["day"])
    again = services.anomalies_scan(day=spiky["day"])

    # Then the use case's spike and its model's are stored, and the second run adds nothing
    assert {(a.use_case, a.model) for a in created} == {
        (cast.use_case_a, None),
        (cast.use_case_a, spiky["big"]),
    }
    assert again == []
    assert Anomaly.objects.count() == 2
    whole = Anomaly.objects.get(model__isnull=True)
    assert whole.kind == AnomalyKind.SPIKE
    assert whole.date == spiky["day"]
    assert whole.actual == Decimal("1001")  # 900 on the big model and 101 on the small one
    assert whole.expected == Decimal("202")  # the same weekday of the four weeks before: 2 x 101
    assert whole.severity == Severity.HIGH
    assert whole.currency == "USD"
    assert whole.detail["basis"] == "weekday"
    # The run that added them leaves one audit row, the idle one none; the owner hears of the new
    # high-severity anomaly
    assert AuditEvent.objects.filter(action="anomaly.scan").count() == 1
    note = Notification.objects.get(recipient=cast.owner)
    assert "Support summarizer" in note.subject
    assert note.url.endswith(f"/anomalies/{whole.pk}/")


def test_a_backfill_finds_old_spikes_without_notifying_anyone(cast, spiky):
    created = services.anomalies_scan(day=spiky["day"] + datetime.timedelta(days=10), days=30)
    assert len(created) == 2
    assert not Notification.objects.exists()


def test_the_scan_reads_a_constant_number_of_queries(cast, spiky, django_assert_max_num_queries):
    with django_assert_max_num_queries(10) as few:
        services.anomalies_scan(day=spiky["day"] - datetime.timedelta(days=1))
    provider = ProviderFactory()
    for _ in range(5):
        use_case = UseCaseFactory(team=cast.team_b)
        DailySpend.objects.bulk_create(
            daily_spend_rows(
                use_case=use_case,
                provider=provider,
                costs=[50, 51, 49, 50, 52, 20, 21] * 8,
                start=datetime.date(2025, 5, 1),
            )
        )

    with django_assert_max_num_queries(len(few.captured_queries)):
        services.anomalies_scan(day=spiky["day"] - datetime.timedelta(days=1), days=20)


def test_the_scheduled_task_scans_the_last_days(cast, spiky, monkeypatch):
    monkeypatch.setattr(services.detection, "_yesterday", lambda: spiky["day"])
    assert scan_anomalies.delay().get() == {"created": 2}
    assert scan_anomalies.delay().get() == {"created": 0}


def test_a_scan_of_too_many_days_is_refused_with_the_field_named(db):
    with pytest.raises(ValidationError) as err:
        services.anomalies_scan(day=datetime.date(2025, 6, 1), days=0)
    assert "days" in err.value.message_dict


# Triage.


def test_the_team_acknowledges_explains_and_resolves_with_an_audit_trail(cast):
    anomaly = AnomalyFactory(use_case=cast.use_case_a)

    services.anomaly_acknowledge(anomaly=anomaly, actor=cast.requester_a, note="Looking")
    services.anomaly_explain(anomaly=anomaly, actor=cast.owner, note="A re-index of the archive")
    services.anomaly_resolve(anomaly=anomaly, actor=cast.finance)

    anomaly.refresh_from_db()
    assert anomaly.status == AnomalyStatus.RESOLVED
    assert anomaly.note == "A re-index of the archive"
    assert anomaly.acknowledged_by == cast.requester_a
    events = list(AuditEvent.objects.filter(object_id=str(anomaly.pk)).order_by("id"))
    assert [e.action for e in events] == ["anomaly.acknowledge", "anomaly.explain", "anomaly.resolve"]
    assert events[1].before["status"] == "acknowledged"
    assert events[1].after["status"] == "explained"


@pytest.mark.parametrize("who", ["requester_b", "council"])
def test_another_team_and_the_council_cannot_triage(cast, who):
    anomaly = AnomalyFactory(use_case=cast.use_case_a)
    with pytest.raises(PermissionDenied):
        services.anomaly_acknowledge(anomaly=anomaly, actor=getattr(cast, who))
    assert Anomaly.objects.get(pk=anomaly.pk).status == AnomalyStatus.OPEN
    assert not AuditEvent.objects.filter(action__startswith="anomaly.").exists()


def test_an_explanation_needs_words_and_a_resolved_anomaly_stays_resolved(cast):
    anomaly = AnomalyFactory(use_case=cast.use_case_a)
    with pytest.raises(ValidationError) as err:
        services.anomaly_explain(anomaly=anomaly, actor=cast.owner, note="  ")
    assert "note" in err.value.message_dict

    services.anomaly_resolve(anomaly=anomaly, actor=cast.owner)
    for service in (services.anomaly_acknowledge, services.anomaly_resolve):
        with pytest.raises(ValidationError) as err:
            service(anomaly=anomaly, actor=cast.owner)
        assert "status" in err.value.message_dict


def test_the_council_reads_open_high_severity_anomalies_only(cast):
    wanted = AnomalyFactory(use_case=cast.use_case_a)
    seen = AnomalyFactory(use_case=cast.use_case_b, status=AnomalyStatus.ACKNOWLEDGED)
    AnomalyFactory(use_case=cast.use_case_a, status=AnomalyStatus.EXPLAINED)
    AnomalyFactory(use_case=cast.use_case_a, status=AnomalyStatus.RESOLVED)
    AnomalyFactory(use_case=cast.use_case_a, severity=Severity.MEDIUM)

    assert set(open_high_severity_anomalies()) == {wanted, seen}
    assert list(open_high_severity_anomalies(use_case=cast.use_case_b)) == [seen]
