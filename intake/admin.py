from django.contrib import admin

from .models import IntakeRequest, TriageRule


@admin.register(TriageRule)
class TriageRuleAdmin(admin.ModelAdmin):
    """Read-only: a rule changes on Administration's triage-rule page, which previews the open
    intakes the change re-triages and re-triages them on save (intake.services.triage_rules_change);
    an edit here would change the rules blind and leave those intakes on the old ones."""

    list_display = ("code", "enabled", "tier", "threshold")
    readonly_fields = ("code",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
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
