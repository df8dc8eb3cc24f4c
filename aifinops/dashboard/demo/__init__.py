"""Demo data for the finance and executive views, run last by seed_demo.

- Customers, revenue and the remaining team and function budgets (finance.py).
- The kind of task of the demo use cases that have none, so the narrative can say where premium
  models are justified. Intake records it; the demo's use cases were registered without intake,
  and no service edits a registered use case's classification, so it is set here with an audit row.
- Waiting items aged as a real queue would be: the demo builds them all "now", which would make
  every decision look fresh. Their timestamps are moved back, as showback.budgets.demo does for
  its alerts.

Idempotent: a use case with a task kind keeps it; items already aged are left alone.
"""

import datetime

from django.utils import timezone

from aifinops.core.audit import audit_record
from portfolio.choices import MoveRequestStatus, TaskKind
from portfolio.models import StageMoveRequest, UseCase

from . import finance as demo_finance

TASK_KINDS = {
    "in-app-assistant": TaskKind.MULTI_STEP,
    "lead-enrichment-agent": TaskKind.EXTRACTION,
    "code-review-assistant": TaskKind.JUDGMENT,
    "support-call-summarizer": TaskKind.SHORT_SUMMARY,
    "invoice-extraction": TaskKind.EXTRACTION,
    "onboarding-agent": TaskKind.MULTI_STEP,
    "contract-clause-reviewer": TaskKind.JUDGMENT,
    "incident-runbook-agent": TaskKind.ANALYSIS,
    "campaign-copy-generator": TaskKind.DRAFTING,
    "month-end-variance-commentary": TaskKind.SYNTHESIS,
    "support-reply-drafter": TaskKind.DRAFTING,
    "ticket-triage-router": TaskKind.CLASSIFICATION,
    "semantic-search": TaskKind.EMBEDDING,
    "report-narratives": TaskKind.DRAFTING,
    "rfp-response-assistant": TaskKind.SYNTHESIS,
    "sales-call-coach": TaskKind.ANALYSIS,
    "expense-policy-checker": TaskKind.CLASSIFICATION,
    "dev-chat-selfhosted": TaskKind.ANALYSIS,
}
# Days an open item of the demo has waited, oldest first.
INTAKE_AGES = (17, 9, 4, 2, 1)
MOVE_AGE = 11


def _task_kinds():
    changed = 0
    for use_case in UseCase.objects.filter(key__in=TASK_KINDS, task_kind=""):
        before = {"task_kind": ""}
        UseCase.objects.filter(pk=use_case.pk).update(task_kind=TASK_KINDS[use_case.key])
        audit_record(
            actor=None,
            action="use_case.classify",
            obj=use_case,
            before=before,
            after={"task_kind": TASK_KINDS[use_case.key], "source": "demo"},
        )
        changed += 1
    return changed


def _age_waiting(now):
    aged = 0
    fresh = now - datetime.timedelta(days=1)
    for request in StageMoveRequest.objects.filter(status=MoveRequestStatus.OPEN, created_at__gte=fresh):
        StageMoveRequest.objects.filter(pk=request.pk).update(
            created_at=now - datetime.timedelta(days=MOVE_AGE)
        )
        aged += 1
    try:
        from intake.models import IntakeRequest, IntakeStatus
    except ImportError:  # pragma: no cover - intake ships with the product
        return aged
    waiting = IntakeRequest.objects.filter(
        status__in=(IntakeStatus.SUBMITTED, IntakeStatus.TRIAGED), submitted_at__gte=fresh
    ).order_by("pk")
    for intake, days in zip(waiting, INTAKE_AGES, strict=False):
        when = now - datetime.timedelta(days=days)
        IntakeRequest.objects.filter(pk=intake.pk).update(
            submitted_at=when,
            triaged_at=when if intake.triaged_at else None,
            created_at=min(intake.created_at, when - datetime.timedelta(hours=2)),
        )
        aged += 1
    return aged


def seed(*, stdout):
    demo_finance.seed(stdout=stdout)
    kinds = _task_kinds()
    aged = _age_waiting(timezone.now())
    stdout.write(f"  dashboard: {kinds} use cases given their kind of task, {aged} waiting items aged")
