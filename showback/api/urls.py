from django.urls import path
from rest_framework.routers import SimpleRouter

from ..gateway.api import UsageEventsApi
from . import exports
from .budgets import register as register_budgets
from .margins import CustomerRevenueApi
from .views import DailySpendViewSet, ImportBatchViewSet, SpendSummaryApi

router = SimpleRouter()
router.register("daily-spend", DailySpendViewSet, basename="api-daily-spend")
router.register("spend/imports", ImportBatchViewSet, basename="api-spend-import")
exports.register(router)
register_budgets(router)

urlpatterns = [
    path("spend/summary/", SpendSummaryApi.as_view(), name="api-spend-summary"),
    path("revenue/", CustomerRevenueApi.as_view(), name="api-customer-revenue"),
    path("usage-events/", UsageEventsApi.as_view(), name="api-usage-events"),
    *exports.urlpatterns,
    *router.urls,
]
