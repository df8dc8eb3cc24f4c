from rest_framework.routers import SimpleRouter

from .views import IntakeViewSet

router = SimpleRouter()
router.register("intakes", IntakeViewSet, basename="api-intake")

urlpatterns = router.urls
