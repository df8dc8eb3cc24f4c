from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import DailySpendViewSet, ImportBatchViewSet, SpendSummaryApi

router = SimpleRouter()
router.register("daily-spend", DailySpendViewSet, basename="api-daily-spend")
router.register("spend/imports", ImportBatchViewSet, basename="api-spend-import")

urlpatterns = [path("spend/summary/", SpendSummaryApi.as_view(), name="api-spend-summary"), *router.urls]
