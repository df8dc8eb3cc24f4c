from django.contrib import admin

from aifinops.core.admin_mixins import AuditedModelAdmin

from .models import IntakeRequest, TriageRule


@admin.register(TriageRule)
class TriageRuleAdmin(AuditedModelAdmin, admin.ModelAdmin):
    """Platform admins tune triage here: which rules apply, the tier each sets, cost thresholds."""

    list_display = ("code", "enabled", "tier", "threshold")
    list_editable = ("enabled", "tier", "threshold")
    readonly_fields = ("code",)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(IntakeRequest)
class IntakeRequestAdmin(admin.ModelAdmin):
    """Read-only: intakes change only through their lifecycle, on the intake pages and the API."""

    list_display = ("reference", "name", "team", "requester", "status", "risk_tier", "created_at")
    list_filter = ("status", "risk_tier", "team")
    search_fields = ("name", "purpose")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
