"""Every write of the council: agendas, meetings, funding requests, votes and decisions.

Each service checks permission through aifinops.core.permissions, changes rows, and writes its
audit event in the same transaction; notifications go through aifinops.core.notifications.
"""

from .agenda import agenda_build, meeting_schedule, next_meeting_time
from .decisions import decision_record, vote_cast
from .funding import funding_request_save, funding_request_submit, funding_request_withdraw
from .meetings import (
    meeting_close,
    meeting_close_preview,
    meeting_publish,
    meeting_start,
    review_thresholds_update,
)

__all__ = [
    "agenda_build",
    "decision_record",
    "funding_request_save",
    "funding_request_submit",
    "funding_request_withdraw",
    "meeting_close",
    "meeting_close_preview",
    "meeting_publish",
    "meeting_schedule",
    "meeting_start",
    "next_meeting_time",
    "review_thresholds_update",
    "vote_cast",
]
