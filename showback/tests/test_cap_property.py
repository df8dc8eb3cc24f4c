"""The hard cap as a property, against the real Redis and PostgreSQL: for any sequence of
authorizations (same and new request ids, any currency, zero and large estimates), usage events,
reservation expiry, Redis losing everything and reconciliations, what is allowed never passes the
cap, and no sequence leaves the use case unusable."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from showback.fx import exchange_rate_record
from showback.gateway import counters as ctr
from showback.gateway import policy as gw_policy
from showback.gateway.authorize import AuthorizeRequest, GatewayPrincipal, authorize
from showback.gateway.caps import gateway_caps_reconcile
from showback.gateway.usage import usage_events_ingest
from showback.models import DailySpend, GatewayReservation, SpendRecord, UsageEvent, UsageRequest

from .gateway_helpers import event, gw_keys, hard_cap

pytestmark = pytest.mark.django_db

CAP = Decimal("1.00")
RATES = {"USD": Decimal("1"), "EUR": Decimal("1.10")}
TTL_MS = 300_000

amounts = st.sampled_from(
    [None, Decimal("0"), Decimal("0.01"), Decimal("0.07"), Decimal("0.25"), Decimal("0.60"), Decimal("1000")]
)
operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("authorize"),
            st.integers(0, 5),  # request id: 0-4 reused, 5 a new one each time
            st.sampled_from(["USD", "EUR", "", "GBP", "ZZZ"]),
            amounts,
        ),
        st.tuples(st.just("usage"), st.integers(0, 4), st.sampled_from(["USD", "EUR"]), st.integers(0, 100)),
        st.tuples(st.just("expire")),
        st.tuples(st.just("restart")),
        st.tuples(st.just("reconcile")),
    ),
    max_size=25,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
# The attacks of issue 14, always tried: a reservation grown under the same request id, a large
# estimate in another currency, a reservation of nothing that expires, a restart with money reserved.
@example(ops=[("authorize", 0, "USD", Decimal("0.01")), ("authorize", 0, "USD", Decimal("1000"))])
@example(ops=[("authorize", 0, "USD", Decimal("0.60")), ("authorize", 1, "EUR", Decimal("1000"))])
@example(ops=[("authorize", 0, "USD", None), ("expire",), ("authorize", 1, "USD", Decimal("0.25"))])
@example(
    ops=[("authorize", 0, "USD", Decimal("0.60")), ("restart",), ("authorize", 1, "USD", Decimal("0.60"))]
)
def test_allowed_spend_never_passes_the_cap_and_the_use_case_stays_usable(
    cast, gateway_key, redis_clean, django_capture_on_commit_callbacks, ops
):
    use_case = cast.use_case_a
    if not hasattr(cast, "_capped"):
        hard_cap(use_case, str(CAP))
        exchange_rate_record(
            actor=cast.finance,
            base="EUR",
            quote="USD",
            rate=RATES["EUR"],
            valid_from=timezone.now().date() - datetime.timedelta(days=1),
            source="test",
        )
        cast._capped = True
    _forget_everything(redis_clean, use_case)
    who = GatewayPrincipal(key_id=gateway_key.pk, use_case_id=use_case.pk, agent="")
    now = int(timezone.now().timestamp() * 1000)
    held: dict[str, tuple[int, int]] = {}  # request id: (micro USD the system holds, expiry ms)
    spent = 0  # micro USD of settled usage
    settled: set[str] = set()
    fresh = 0

    for op in ops:
        kind = op[0]
        if kind == "authorize":
            _, n, currency, estimate = op
            fresh += n == 5
            rid = f"r{n}" if n < 5 else f"new{fresh}"
            if rid in settled:
                continue
            req = AuthorizeRequest(
                model="openai/gpt-mini", estimated_cost=estimate, currency=currency, request_id=rid
            )
            try:
                answer = authorize(principal=who, req=req, now_ms=now)
            except ValidationError as exc:
                assert currency in ("GBP", "ZZZ")
                assert "currency" in exc.message_dict
                continue
            assert answer["reason"] != "counters_unavailable"
            if answer["decision"] == "deny":
                continue
            rate = RATES[currency or "USD"]
            amount = ctr.to_micro((estimate or Decimal("0")) * rate)
            old = held.get(rid)
            live = old is not None and old[1] > now
            # An allowed answer lets the call spend its estimate, whatever the reason says.
            expiry = now + TTL_MS if answer["reason"] != "already_reserved" or not live else old[1]
            held[rid] = (max(amount, old[0] if live else 0), expiry)
            open_now = sum(m for m, expiry in held.values() if expiry > now)
            assert spent + open_now <= ctr.to_micro(CAP), (ops, held, spent)
        elif kind == "usage":
            _, n, currency, percent = op
            rid = f"r{n}"
            if rid not in held or held[rid][1] <= now or rid in settled:
                continue
            # The actual cost: up to what was reserved, in the event's currency.
            usd = Decimal(held[rid][0]) / ctr.MICRO * percent / 100
            cost = (usd / RATES[currency]).quantize(Decimal("0.01"), rounding="ROUND_DOWN")
            # The simulated clock runs ahead with each expiry; an event may not be from the future.
            occurred = min(datetime.datetime.fromtimestamp(now / 1000, tz=datetime.UTC), timezone.now())
            with django_capture_on_commit_callbacks(execute=True):
                usage_events_ingest(
                    principal=who,
                    events=[event(rid, timestamp=occurred.isoformat(), cost=str(cost), currency=currency)],
                )
            spent += ctr.to_micro(cost * RATES[currency])
            held.pop(rid)
            settled.add(rid)
        elif kind == "expire":
            now += TTL_MS + 1
        elif kind == "restart":
            _lose_redis(redis_clean)
        else:
            gateway_caps_reconcile(now_ms=now)

    # Whatever happened, once the reservations have expired the use case is usable again.
    now += TTL_MS + 1
    last = authorize(
        principal=who,
        req=AuthorizeRequest(model="openai/gpt-mini", estimated_cost=Decimal("0.01"), request_id="last"),
        now_ms=now,
    )
    if spent + 10_000 <= ctr.to_micro(CAP):
        assert last["decision"] != "deny", (ops, last)
    else:
        assert last["reason"] == "budget_exhausted"


def _lose_redis(c):
    keys = gw_keys(c.client)
    if keys:
        c.client.delete(*keys)
    gw_policy._local_policies.clear()
    gw_policy._local_keys.clear()


def _forget_everything(c, use_case):
    _lose_redis(c)
    GatewayReservation.objects.all().delete()
    UsageEvent.objects.filter(use_case=use_case).delete()
    UsageRequest.objects.filter(use_case_id=use_case.pk).delete()
    SpendRecord.objects.filter(use_case=use_case).delete()
    DailySpend.objects.filter(use_case=use_case).delete()
    from showback.gateway.models import UsageRollupDirty

    UsageRollupDirty.objects.all().delete()
