from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import ApiTokenViewSet, MeApi

router = SimpleRouter()
router.register("tokens", ApiTokenViewSet, basename="api-token")

urlpatterns = [path("me/", MeApi.as_view(), name="api-me"), *router.urls]
