from django.contrib import admin

from aifinops.core.admin_mixins import AuditedModelAdmin

from .models import AIModel, Membership, Provider, TagKey, Team, UseCase


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ("name", "business_function", "cost_center")
    list_filter = ("business_function",)
    search_fields = ("name", "cost_center")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]


@admin.register(Provider)
class ProviderAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ("name", "kind")
    prepopulated_fields = {"slug": ("name",)}
    search_fields = ("name",)


@admin.register(AIModel)
class AIModelAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = (
        "name",
        "provider",
        "tier",
        "input_price_per_mtok",
        "output_price_per_mtok",
        "currency",
        "is_active",
    )
    list_filter = ("provider", "tier", "is_active")
    search_fields = ("name", "key")


@admin.register(UseCase)
class UseCaseAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ("name", "key", "team", "stage", "risk_tier", "autonomy_level")
    list_filter = ("stage", "risk_tier", "autonomy_level", "team")
    search_fields = ("name", "key")
    # The stage moves only through the stage-gate services.
    readonly_fields = ("stage",)
    filter_horizontal = ("ai_models",)


@admin.register(TagKey)
class TagKeyAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ("key", "label", "applies_to", "required", "position")
    list_editable = ("required", "position")
    list_filter = ("applies_to", "required")
