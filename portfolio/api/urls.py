from rest_framework.routers import SimpleRouter

from ..licenses.api import register as register_licenses
from ..value.api import register as register_value
from .views import AIModelViewSet, ProviderViewSet, TeamViewSet, UseCaseViewSet

router = SimpleRouter()
router.register("teams", TeamViewSet, basename="api-team")
router.register("use-cases", UseCaseViewSet, basename="api-use-case")
router.register("providers", ProviderViewSet, basename="api-provider")
router.register("models", AIModelViewSet, basename="api-model")
register_value(router)
register_licenses(router)

urlpatterns = router.urls
