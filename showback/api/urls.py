from rest_framework.routers import SimpleRouter

from .views import DailySpendViewSet

router = SimpleRouter()
router.register("daily-spend", DailySpendViewSet, basename="api-daily-spend")

urlpatterns = router.urls
