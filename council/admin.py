from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from aifinops.core.admin_mixins import AuditedModelAdmin

from .models import (
    AgendaItem,
    Council,
    CouncilMember,
    Decision,
    FundingRequest,
    Meeting,
    ReviewThresholds,
    Vote,
)
from .services import review_thresholds_update
from .services.meetings import THRESHOLD_FIELDS


def quorum_problem(quorum, active):
    """The refusal of a quorum the council's active members cannot reach, or None."""
    if quorum is None or quorum <= active:
        return None
    return (
        f"Quorum: {quorum} votes are needed on an item, but the council has {active} active "
        f"member{'s' if active != 1 else ''}: lower the quorum or add members, or no decision can be "
        "recorded."
    )


class CouncilMemberFormSet(BaseInlineFormSet):
    """The members as they will be once saved, read against the quorum set on the same page (the
    admin builds the inline formsets on the council carrying the form's new values)."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        active = sum(
            1
            for form in self.forms
            if form.cleaned_data.get("user")
            and form.cleaned_data.get("is_active")
            and not form.cleaned_data.get("DELETE")
        )
        problem = quorum_problem(self.instance.quorum, active)
        if problem:
            raise ValidationError(problem)


class CouncilMemberInline(admin.TabularInline):
    model = CouncilMember
    formset = CouncilMemberFormSet
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Council)
class CouncilAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ("name", "cadence", "quorum", "chair")
    inlines = [CouncilMemberInline]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Meetings, items, requests, votes and decisions change only through the council's services
    (which audit and act on other apps); the admin shows them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AgendaItemInline(admin.TabularInline):
    model = AgendaItem
    extra = 0
    fields = ("position", "use_case", "severity", "amount_at_stake", "currency", "status")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Meeting)
class MeetingAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "council", "kind", "scheduled_for", "state")
    list_filter = ("state", "kind", "council")
    inlines = [AgendaItemInline]


@admin.register(AgendaItem)
class AgendaItemAdmin(ReadOnlyAdmin):
    list_display = ("meeting", "position", "use_case", "severity", "amount_at_stake", "status")
    list_filter = ("status", "severity")
    list_select_related = ("meeting", "use_case")


@admin.register(FundingRequest)
class FundingRequestAdmin(ReadOnlyAdmin):
    list_display = ("use_case", "target_stage", "amount", "currency", "status", "submitted_at")
    list_filter = ("status", "target_stage")
    list_select_related = ("use_case",)


@admin.register(Vote)
class VoteAdmin(ReadOnlyAdmin):
    list_display = ("item", "member", "choice", "created_at")
    list_select_related = ("item__meeting", "item__use_case", "member__user")


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ("item", "outcome", "amount_approved", "currency", "recorded_by", "recorded_at")
    list_filter = ("outcome",)
    list_select_related = ("item__meeting", "item__use_case", "recorded_by")


@admin.register(ReviewThresholds)
class ReviewThresholdsAdmin(admin.ModelAdmin):
    """The thresholds of the review triggers, saved through the service that audits them."""

    list_display = (
        "council",
        "spend_threshold",
        "currency",
        "over_budget_pct",
        "missed_milestones",
        "quality_floor",
    )
    fields = ("council", *THRESHOLD_FIELDS)

    def get_readonly_fields(self, request, obj=None):
        return ("council",) if obj is not None else ()

    def save_model(self, request, obj, form, change):
        values = {name: form.cleaned_data[name] for name in THRESHOLD_FIELDS if name in form.cleaned_data}
        saved = review_thresholds_update(actor=request.user, council=obj.council, values=values)
        obj.pk = saved.pk
