"""Reads of the gateway for the use-case page: keys, agent controls, the log, and telemetry.

Telemetry comes from the hourly rollup (UsageHourly), never from the raw events: the last seven
days for the figures, and today hour by hour. A constant number of queries however many events.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from aifinops.core.models import AuditEvent

from . import telemetry
from .controls import agent_defaults, agent_policy_unsaved
from .models import AgentPolicy, AuthorizationDecision, GatewayKey, UsageHourly

TELEMETRY_DAYS = 7
LIMIT_LABELS = {
    "agent_spend_cap": "monthly spend cap",
    "max_steps_per_run": "model calls per run",
    "max_tool_calls_per_run": "tool calls per run",
    "max_tokens_per_run": "tokens per task",
    "max_run_seconds": "run duration",
    "max_calls_per_minute": "calls per minute",
    "max_input_tokens_per_call": "input (context) tokens per call",
    "max_output_tokens": "output tokens per call",
    "max_batch_size": "batch size",
    "tools_restricted": "tool scope",
    "allowed_tools": "permitted tools",
    "warn_at_pct": "warning percentage",
    "approval_required": "approval gate",
    "approved_at": "approval",
    "approved_by": "approver",
}


def gateway_key_list(*, use_case):
    return list(GatewayKey.objects.filter(use_case=use_case).select_related("created_by", "revoked_by"))


def agent_policy_get(*, use_case) -> AgentPolicy:
    """The use case's agent policy, or an unsaved one with the defaults of its autonomy and
    external actions (what the call path applies until one is saved)."""
    found = (
        AgentPolicy.objects.filter(use_case=use_case).select_related("kill_switch_by", "approved_by").first()
    )
    return found or agent_policy_unsaved(use_case)


def agent_log(*, use_case, policy, limit=30):
    """Kill-switch and approval events (from the audit trail) and denials, newest first:
    [(when, kind, text, who or count)]."""
    entries = []
    if policy.pk:
        events = AuditEvent.objects.for_object(policy).filter(
            Q(action__startswith="agent.") | Q(action__in=["agent_policy.update", "agent_policy.create"])
        )
        for event in events.select_related("actor")[:limit]:
            after = event.after or {}
            if event.action == "agent.kill_switch_on":
                text = f"Kill switch on: {after.get('kill_switch_reason') or 'no reason given'}"
            elif event.action == "agent.kill_switch_off":
                text = "Kill switch off"
            elif event.action == "agent.approve":
                text = "Approved"
            elif event.action == "agent_policy.create":
                text = "Controls set to the defaults: " + " ".join(after.get("defaults_because") or [])
            else:
                changed = [LIMIT_LABELS.get(f, f.replace("_", " ")) for f, _b, _a in event.changes]
                text = "Limits changed: " + ", ".join(changed) if changed else "Limits saved"
            entries.append((event.created_at, "control", text, event.actor_label))
    for row in AuthorizationDecision.objects.filter(use_case=use_case).order_by("-created_at", "-id")[:limit]:
        what = row.message
        if row.failure_policy:
            what += f" (Redis down, fail-{row.failure_policy})"
        detail = ", ".join(
            p
            for p in (
                f"run {row.run_id}" if row.run_id else "",
                row.model_name,
                f"agent {row.agent_id}" if row.agent_id else "",
            )
            if p
        )
        entries.append((row.created_at, row.reason, what + (f" — {detail}" if detail else ""), row.count))
    entries.sort(key=lambda e: e[0], reverse=True)
    return entries[:limit]


@dataclass
class Telemetry:
    calls: int = 0
    errors: int = 0
    retried_calls: int = 0
    cache_hits: int = 0
    tool_calls: int = 0
    runs: int = 0
    tasks: int = 0
    successes: int = 0
    human_reviews: int = 0
    accepted: int = 0
    tokens: int = 0
    cost: dict = field(default_factory=lambda: defaultdict(Decimal))
    hist: list = field(default_factory=list)

    def add(self, row):
        for name in (
            "calls",
            "errors",
            "retried_calls",
            "cache_hits",
            "tool_calls",
            "runs",
            "tasks",
            "successes",
            "human_reviews",
            "accepted",
        ):
            setattr(self, name, getattr(self, name) + getattr(row, name))
        self.tokens += row.input_tokens + row.output_tokens + row.cached_tokens + row.cache_write_tokens
        self.cost[row.currency] += row.cost
        self.hist = telemetry.add(self.hist, row.latency_hist or [])

    @staticmethod
    def _share(part, whole):
        return None if not whole else Decimal(part * 100) / whole

    @property
    def p50(self):
        return telemetry.percentile(self.hist, 50)

    @property
    def p95(self):
        return telemetry.percentile(self.hist, 95)

    @property
    def error_rate(self):
        return self._share(self.errors, self.calls)

    @property
    def retry_rate(self):
        return self._share(self.retried_calls, self.calls)

    @property
    def cache_hit_rate(self):
        return self._share(self.cache_hits, self.calls)

    @property
    def human_review_rate(self):
        return self._share(self.human_reviews, self.tasks)

    @property
    def acceptance_rate(self):
        return self._share(self.accepted, self.human_reviews)

    @property
    def tool_calls_per_run(self):
        return None if not self.runs else Decimal(self.tool_calls) / self.runs

    @property
    def cost_per_successful_task(self):
        """[(amount, currency)] per currency: cost divided by the tasks that succeeded."""
        if not self.successes:
            return []
        return [(amount / self.successes, currency) for currency, amount in sorted(self.cost.items())]

    @property
    def costs(self):
        return sorted(self.cost.items())


def use_case_telemetry(*, use_case, now=None):
    """(the last 7 days as one Telemetry, today's 24 hours as [(hour, Telemetry)])."""
    now = now or timezone.now()
    today = datetime.datetime.combine(now.date(), datetime.time.min, tzinfo=datetime.UTC)
    since = today - datetime.timedelta(days=TELEMETRY_DAYS - 1)
    week = Telemetry()
    hours = {today + datetime.timedelta(hours=h): Telemetry() for h in range(24)}
    for row in UsageHourly.objects.filter(
        use_case=use_case, hour__gte=since, hour__lt=today + datetime.timedelta(days=1)
    ):
        week.add(row)
        if row.hour >= today:
            hours[row.hour].add(row)
    return week, sorted(hours.items())


def use_case_gateway(*, use_case, user):
    """Everything the gateway section of the use-case page shows."""
    from aifinops.core import permissions

    from .charts import hourly_chart

    policy = agent_policy_get(use_case=use_case)
    week, hours = use_case_telemetry(use_case=use_case)
    can_manage = permissions.can_manage_gateway_keys(user, use_case)
    return {
        "use_case": use_case,
        "policy": policy,
        "defaults": agent_defaults(use_case),
        "keys": gateway_key_list(use_case=use_case) if can_manage else [],
        "log": agent_log(use_case=use_case, policy=policy),
        "week": week,
        "hours": hours,
        "hourly_chart": hourly_chart(hours) if week.calls else None,
        "can_manage": can_manage,
        "can_stop": permissions.can_stop_agent(user, use_case),
        "telemetry_days": TELEMETRY_DAYS,
    }
