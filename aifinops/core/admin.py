from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db import transaction

from . import services
from .admin_mixins import AuditedModelAdmin
from .audit import audit_record
from .models import ApiToken, AuditEvent
from .roles import Role

User = get_user_model()


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "actor_label", "action", "object_type", "object_repr")
    list_filter = ("action", "object_type")
    search_fields = ("object_repr", "actor_label", "action", "object_id")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "user__username", "prefix")
    readonly_fields = ("user", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    exclude = ("key_hash",)
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for token in queryset:
            services.api_token_revoke(token=token, actor=request.user)


admin.site.unregister(User)


@admin.register(User)
class AuditedUserAdmin(AuditedModelAdmin, UserAdmin):
    def save_related(self, request, form, formsets, change):
        obj = form.instance
        before = sorted(obj.groups.filter(name__in=Role.values).values_list("name", flat=True))
        with transaction.atomic():
            super().save_related(request, form, formsets, change)
            after = sorted(obj.groups.filter(name__in=Role.values).values_list("name", flat=True))
            if before != after:
                audit_record(
                    actor=request.user,
                    action="user.roles_set",
                    obj=obj,
                    before={"roles": before},
                    after={"roles": after},
                )
