"""The hard caps' counters against the ledger: reservations written through to the database, and
the scheduled reconciliation that corrects a counter's drift in either direction.

Redis holds each cap's counter (spent, reserved) for the call path; PostgreSQL holds the truth:
the ledger (DailySpend, usage events and bills rolled up) and the open reservations
(GatewayReservation, written in the authorization request). A lost counter is rebuilt from both
(authorize._seed); a live one is trued up by `gateway_caps_reconcile` every
AIFINOPS_CAP_RECONCILE_SECONDS, so neither an overspend nor a false block outlives one interval.
"""

import datetime
import logging
import time

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from aifinops.core.audit import audit_record, snapshot

from . import counters as ctr
from .models import CapCorrection, GatewayReservation

logger = logging.getLogger(__name__)

# Reservations Redis holds that the database lacks are kept this long: the write-through of a
# reservation lands a few milliseconds after Redis made it.
WRITE_GRACE_MS = 10_000
LAST_RUN_KEY = "gw:reconciled_at"
CORRECTION_FIELDS = [
    "cap",
    "period_start",
    "currency",
    "redis_spent",
    "ledger_spent",
    "redis_reserved",
    "open_reserved",
    "drift",
]


def reservations_settled(events):
    """Delete the written-through reservations that these stored usage events settle, in the
    transaction that stores them: the ledger now counts what the reservation held."""
    by_use_case = {}
    for event in events:
        by_use_case.setdefault(event["use_case_obj"].pk, set()).add(
            event["reservation_id"] or event["request_id"]
        )
    if not by_use_case:
        return 0
    where = Q()
    for use_case_id, ids in by_use_case.items():
        where |= Q(use_case_id=use_case_id, reservation_id__in=ids)
    return GatewayReservation.objects.filter(where).delete()[0]


def _capped_use_case_ids():
    """The use cases whose policies hold every live cap, each cap through at least one of them."""
    from portfolio.models import UseCase

    from ..budgets.selectors import CAPPING_SCOPES
    from ..models import Budget, BudgetMode, BudgetScope

    ids = set(UseCase.objects.filter(agent_spend_cap__isnull=False).values_list("pk", flat=True))
    teams, functions = set(), set()
    for scope, use_case_id, team_id, function in Budget.objects.filter(
        active=True, mode=BudgetMode.HARD_CAP, scope__in=CAPPING_SCOPES
    ).values_list("scope", "use_case_id", "team_id", "function"):
        if use_case_id is not None:
            ids.add(use_case_id)
        elif scope == BudgetScope.TEAM:
            teams.add(team_id)
        elif scope == BudgetScope.FUNCTION:
            functions.add(function)
        else:
            # A customer, tag or portfolio cap is in every use case's policy: reach it through one;
            # `seen` in the loop keeps each cap reconciled once.
            ids.add(UseCase.objects.order_by("pk").values_list("pk", flat=True).first())
    # A team's or a function's cap, through the first use case it holds.
    first_of = {}
    for pk, team_id, function in (
        UseCase.objects.filter(Q(team_id__in=teams) | Q(business_function__in=functions))
        .order_by("pk")
        .values_list("pk", "team_id", "business_function")
    ):
        if team_id in teams:
            first_of.setdefault(("team", team_id), pk)
        if function in functions:
            first_of.setdefault(("function", function), pk)
    ids |= set(first_of.values())
    return sorted(i for i in ids if i)


def _lock_use_case(use_case_id, *, shared_cap: bool):
    """The lock usage ingestion holds to its commit: no batch lands between the ledger read and
    the counter's correction. A cap of one use case takes that use case's lock; a cap shared by use
    cases (team, function, portfolio, customer, tag) the exclusive side of the lock every batch
    takes shared."""
    from .usage import LOCK_ALL_USE_CASES, LOCK_USE_CASE

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            if shared_cap:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, 0)", [LOCK_ALL_USE_CASES])
            else:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_USE_CASE, use_case_id])


def gateway_caps_reconcile(*, now_ms: int | None = None) -> dict:
    """Compare every live cap counter with the ledger and the open reservations in the database,
    correct it, and record each correction (CapCorrection and an audit event). Counters that do not
    exist are left to be rebuilt when next needed. Safe to run twice, or at once in two workers."""
    from .policy import cap_reserved, cap_spent, policy_build

    c = ctr.counters()
    if c is None:
        return {"caps": 0, "corrections": 0}
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    ttl_ms = settings.AIFINOPS_RESERVATION_TTL_SECONDS * 1000
    seen, checked, corrected = set(), 0, 0
    for use_case_id in _capped_use_case_ids():
        policy = policy_build(use_case_id)
        if policy is None:
            continue
        for cap in policy["caps"]:
            keys = ctr.cap_keys(cap)
            if keys[0] in seen:
                continue
            seen.add(keys[0])
            with transaction.atomic():
                _lock_use_case(use_case_id, shared_cap=cap.get("scope") not in (None, "use_case", "agent"))
                spent = ctr.to_micro(cap_spent(policy, cap))
                args = [spent, now_ms, now_ms + ttl_ms - WRITE_GRACE_MS]
                open_micro = 0
                for rid, amount, expiry_ms in cap_reserved(cap, now_ms=now_ms):
                    args += [rid, amount, expiry_ms]
                    open_micro += amount
                result = c.call(c.reconcile_script, keys=keys, args=args)
                if not result:
                    continue
                checked += 1
                old_spent, old_reserved, new_reserved = (int(v) for v in result)
                if old_spent != spent or old_reserved != int(new_reserved):
                    _correction_record(
                        policy,
                        cap,
                        redis_spent=old_spent,
                        ledger_spent=spent,
                        redis_reserved=old_reserved,
                        open_reserved=int(new_reserved),
                    )
                    corrected += 1
    # Reservations expired an hour ago count nowhere any more.
    expired = timezone.now() - datetime.timedelta(seconds=settings.AIFINOPS_RESERVATION_TTL_SECONDS + 3600)
    GatewayReservation.objects.filter(expires_at__lt=expired).delete()
    c.set(LAST_RUN_KEY, str(now_ms))
    return {"caps": checked, "corrections": corrected}


def _correction_record(policy, cap, *, redis_spent, ledger_spent, redis_reserved, open_reserved):
    drift = (ledger_spent + open_reserved) - (redis_spent + redis_reserved)
    correction = CapCorrection.objects.create(
        use_case_id=policy["use_case"]["id"],
        budget_id=cap["budget_id"],
        cap=cap["id"],
        period_start=cap["start"],
        currency=cap["currency"],
        redis_spent=ctr.from_micro(redis_spent),
        ledger_spent=ctr.from_micro(ledger_spent),
        redis_reserved=ctr.from_micro(redis_reserved),
        open_reserved=ctr.from_micro(open_reserved),
        drift=ctr.from_micro(abs(drift)) * (1 if drift >= 0 else -1),
    )
    audit_record(
        actor=None,
        action="gateway.cap_corrected",
        obj=correction,
        after=snapshot(correction, CORRECTION_FIELDS),
    )
    logger.info("gateway: cap %s corrected by %s %s", cap["id"], correction.drift, cap["currency"])
    return correction


def cap_reconciliation_get(budget) -> dict:
    """What the budget page shows of the counters' reconciliation: when it last ran, the
    reconciliation interval and the budget's last correction (None if there was none)."""
    last_run = None
    c = ctr.counters()
    if c is not None:
        try:
            raw = c.get(LAST_RUN_KEY)
        except ctr.Unavailable:
            raw = None
        if raw:
            last_run = datetime.datetime.fromtimestamp(int(raw) / 1000, tz=datetime.UTC)
    return {
        "last_run": last_run,
        "every_seconds": settings.AIFINOPS_CAP_RECONCILE_SECONDS,
        "last_correction": CapCorrection.objects.filter(budget=budget).order_by("-created_at", "-id").first(),
    }
