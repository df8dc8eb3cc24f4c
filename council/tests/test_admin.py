"""The council's settings in the admin: a quorum its active members cannot reach is refused where it
is set, naming the quorum, and nothing is saved."""

import pytest
from django.urls import reverse

from aifinops.core.models import AuditEvent
from council.models import Council, CouncilMember
from council.tests.page_fixtures import board_fixture  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def _post(board, *, quorum, active=None):
    """The council's change form as the admin sends it: its fields and its members inline, `active`
    the members' active flags in seat order (all as they are by default)."""
    seats = list(CouncilMember.objects.filter(council=board).order_by("id"))
    active = active if active is not None else [s.is_active for s in seats]
    data = {
        "name": board.name,
        "cadence": board.cadence,
        "quorum": str(quorum),
        "chair": str(board.chair_id),
        "members-TOTAL_FORMS": str(len(seats)),
        "members-INITIAL_FORMS": str(len(seats)),
        "members-MIN_NUM_FORMS": "0",
        "members-MAX_NUM_FORMS": "1000",
    }
    for n, (seat, on) in enumerate(zip(seats, active, strict=True)):
        data |= {
            f"members-{n}-id": str(seat.pk),
            f"members-{n}-council": str(board.pk),
            f"members-{n}-user": str(seat.user_id),
            f"members-{n}-persona": seat.persona,
        }
        if on:
            data[f"members-{n}-is_active"] = "on"
    return data


def _url(board):
    return reverse("admin:council_council_change", args=[board.pk])


def test_a_quorum_above_the_active_members_is_refused_naming_the_quorum(cast, login, board):
    response = login(cast.admin).post(_url(board), _post(board, quorum=5))

    assert response.status_code == 200  # the form again, with the refusal
    assert "Quorum: 5 votes are needed on an item, but the council has 4 active members" in (
        response.content.decode()
    )
    assert Council.objects.get(pk=board.pk).quorum == 3
    assert not AuditEvent.objects.filter(action="council.update").exists()


def test_deactivating_members_below_the_quorum_is_refused_too(cast, login, board):
    response = login(cast.admin).post(_url(board), _post(board, quorum=3, active=[True, True, False, False]))

    assert "Quorum: 3 votes are needed on an item, but the council has 2 active members" in (
        response.content.decode()
    )
    assert CouncilMember.objects.filter(council=board, is_active=True).count() == 4


def test_a_quorum_the_members_can_reach_is_saved_and_audited(cast, login, board):
    response = login(cast.admin).post(_url(board), _post(board, quorum=4))

    assert response.status_code == 302
    assert Council.objects.get(pk=board.pk).quorum == 4
    event = AuditEvent.objects.get(action="council.update")
    assert (event.before["quorum"], event.after["quorum"]) == (3, 4)
