"""The one door from intake to the council's review of an intake.

Intake sits below council in the dependency order (`council > intake`, checked by import-linter),
yet the requester's intake page says which meeting reviews the intake, when, who chairs it and what
the council will decide. Intake names that read here; council registers its own function for it
when the app registry is ready (`council.apps.CouncilConfig.ready()` calls `register(...)`), so
intake never imports council, and a read nothing registered fails loudly.
"""

from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

_registered = {}


@dataclass(frozen=True)
class CouncilReview:
    """Where an intake stands with the council, in words a requester reads."""

    council: str
    meeting: str  # "Monthly operating review"
    scheduled_for: object  # an aware datetime
    chair: str  # the chair's full name
    state: str  # "Draft", "Published", "In session", "Closed"
    decides: str  # what the council will decide
    url: str  # the agenda item's page, readable by the requester
    decision: str = ""  # "Approved with conditions", once decided
    decision_detail: str = ""  # amount, milestone, period, conditions or reasons
    carried_over: bool = False
    open_on_agenda: bool = False  # still waiting on this agenda: deciding on the intake page takes it off


def register(*, review_of):
    """Fill the door: `review_of(intake) -> CouncilReview | None`. Called by council at ready()."""
    _registered["review_of"] = review_of


def review_of(intake):
    """The council's review of `intake`: the latest agenda item it is on, or None."""
    try:
        read = _registered["review_of"]
    except KeyError:
        raise ImproperlyConfigured(
            "intake.review.review_of has no implementation: council registers it at ready() "
            "(is council in INSTALLED_APPS?)."
        ) from None
    return read(intake)
