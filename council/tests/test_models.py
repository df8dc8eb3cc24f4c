from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django_fsm import TransitionNotAllowed

from council.models import Meeting, MeetingState, VoteChoice
from council.tests.factories import CouncilFactory, FundingRequestFactory, VoteFactory

pytestmark = pytest.mark.django_db


def test_meeting_moves_only_forward_through_its_states():
    # given a draft meeting
    from django.utils import timezone

    meeting = Meeting.objects.create(council=CouncilFactory(), scheduled_for=timezone.now())
    # when it is published, started and closed
    meeting.publish()
    meeting.start()
    meeting.close()
    meeting.save()
    # then it is closed and cannot be published again
    assert Meeting.objects.get(pk=meeting.pk).state == MeetingState.CLOSED
    with pytest.raises(TransitionNotAllowed):
        meeting.publish()
    with pytest.raises(IntegrityError), transaction.atomic():
        Meeting.objects.filter(pk=meeting.pk).update(scheduled_for=None)


def test_a_funding_request_reads_as_people_read_it_in_the_audit_log(cast):
    request = FundingRequestFactory(
        use_case=cast.use_case_a, target_stage="mvp", amount=Decimal("3600"), currency="USD"
    )

    assert str(request) == f"{cast.use_case_a.name} → MVP: $3,600.00"


def test_a_vote_is_named_by_its_choices_label_not_its_stored_value():
    vote = VoteFactory(choice=VoteChoice.APPROVE_WITH_CONDITIONS)

    assert str(vote).endswith(": approve with conditions")
    assert "approve_with_conditions" not in str(vote)
