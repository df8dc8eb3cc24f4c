from django.contrib import admin

from aifinops.core.admin_mixins import AuditedModelAdmin

from .models import Council, CouncilMember


class CouncilMemberInline(admin.TabularInline):
    model = CouncilMember
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Council)
class CouncilAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ("name", "cadence", "quorum", "chair")
    inlines = [CouncilMemberInline]
