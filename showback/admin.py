from django.contrib import admin

from .models import DailySpend, ExchangeRate, SpendRecord


@admin.register(SpendRecord)
class SpendRecordAdmin(admin.ModelAdmin):
    list_display = (
        "charge_period_start",
        "source",
        "provider_name",
        "model_name",
        "effective_cost",
        "currency",
        "use_case",
    )
    list_filter = ("source", "is_ai", "is_estimated", "provider")
    search_fields = ("source_row_key", "model_name", "service_name")
    date_hierarchy = "charge_period_start"
    list_select_related = ("use_case",)

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DailySpend)
class DailySpendAdmin(admin.ModelAdmin):
    list_display = ("date", "team", "use_case", "provider", "model", "effective_cost", "currency")
    list_filter = ("provider", "is_ai")
    date_hierarchy = "date"
    list_select_related = ("team", "use_case", "provider", "model")

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    """Rates for hard caps in another currency. Saved through the service, so every change is
    audited and the gateway's policies are rebuilt."""

    list_display = ("base", "quote", "rate", "valid_from", "source", "created_at")
    list_filter = ("base", "quote")
    fields = ("base", "quote", "rate", "valid_from", "source")

    def get_readonly_fields(self, request, obj=None):
        return ("base", "quote", "valid_from") if obj else ()

    def save_model(self, request, obj, form, change):
        from .fx import exchange_rate_record

        saved = exchange_rate_record(
            actor=request.user,
            base=obj.base,
            quote=obj.quote,
            rate=obj.rate,
            valid_from=obj.valid_from,
            source=obj.source,
        )
        obj.pk = saved.pk

    def has_delete_permission(self, request, obj=None):
        return False
