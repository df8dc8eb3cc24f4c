from django.db import transaction

from .audit import audit_record, snapshot


class AuditedModelAdmin:
    """Admin edits are changes of state like any other: each writes an audit event."""

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            before = None
            if change:
                before = snapshot(type(obj).objects.get(pk=obj.pk))
            super().save_model(request, obj, form, change)
            action = f"{obj._meta.model_name}.{'update' if change else 'create'}"
            audit_record(actor=request.user, action=action, obj=obj, before=before, after=snapshot(obj))

    def delete_model(self, request, obj):
        with transaction.atomic():
            audit_record(
                actor=request.user, action=f"{obj._meta.model_name}.delete", obj=obj, before=snapshot(obj)
            )
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for obj in queryset:
                audit_record(
                    actor=request.user,
                    action=f"{obj._meta.model_name}.delete",
                    obj=obj,
                    before=snapshot(obj),
                )
            super().delete_queryset(request, queryset)
