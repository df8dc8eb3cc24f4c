from celery import shared_task

from .services.value import milestones_mark_overdue


@shared_task(name="portfolio.mark_missed_milestones")
def mark_missed_milestones():
    """Mark missed the pending milestones whose due date has passed. Safe to run twice."""
    return milestones_mark_overdue()
