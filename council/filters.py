"""One FilterSet per list of the council's API: the filters a caller may give, checked as a form
(a value that is not a number, not a choice, or holds a NUL character is a 400 naming the
parameter), never read raw from the query string."""

import django_filters
from django import forms

from .models import AgendaItem, Decision, FundingRequest, FundingStatus, Meeting, MeetingState

ID_MAX = 2**31 - 1


class IdFilter(django_filters.NumberFilter):
    """A record's id: a whole number a database column can hold."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=1, max_value=ID_MAX, **kwargs)


class MeetingFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=MeetingState.choices)
    council = IdFilter(field_name="council_id")

    class Meta:
        model = Meeting
        fields = ["state", "council"]


class AgendaItemFilter(django_filters.FilterSet):
    meeting = IdFilter(field_name="meeting_id")

    class Meta:
        model = AgendaItem
        fields = ["meeting"]


class DecisionFilter(django_filters.FilterSet):
    use_case = django_filters.CharFilter(field_name="item__use_case__key")
    meeting = IdFilter(field_name="item__meeting_id")

    class Meta:
        model = Decision
        fields = ["use_case", "meeting"]


class FundingRequestFilter(django_filters.FilterSet):
    use_case = django_filters.CharFilter(field_name="use_case__key")
    status = django_filters.ChoiceFilter(choices=FundingStatus.choices)

    class Meta:
        model = FundingRequest
        fields = ["use_case", "status"]
