from celery import shared_task

from .value.services import milestones_mark_overdue


@shared_task(name="portfolio.mark_missed_milestones")
def mark_missed_milestones():
    """Mark missed the pending milestones whose due date has passed. Safe to run twice."""
    return milestones_mark_overdue()


@shared_task(name="portfolio.warn_renewals")
def warn_renewals():
    """Announce tool renewals 90, 60 and 30 days ahead. Safe to run twice: each notice goes once."""
    from .licenses.services import renewals_warn

    return len(renewals_warn())
