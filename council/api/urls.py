from rest_framework.routers import SimpleRouter

from .views import AgendaItemViewSet, CouncilViewSet, DecisionViewSet, FundingRequestViewSet, MeetingViewSet

router = SimpleRouter()
router.register("councils", CouncilViewSet, basename="api-council")
router.register("council/meetings", MeetingViewSet, basename="api-council-meeting")
router.register("council/agenda-items", AgendaItemViewSet, basename="api-council-agenda-item")
router.register("council/decisions", DecisionViewSet, basename="api-council-decision")
router.register("council/funding-requests", FundingRequestViewSet, basename="api-council-funding-request")

urlpatterns = router.urls
