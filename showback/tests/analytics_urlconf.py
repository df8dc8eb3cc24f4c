"""The project's URLs plus the analytics pages and API, for tests and local checks, until
showback's urls include them (then this adds nothing)."""

from django.urls import NoReverseMatch, include, path, reverse

from aifinops.urls import urlpatterns as project

try:
    reverse("analytics:anomaly_list", urlconf="aifinops.urls")
    urlpatterns = project
except NoReverseMatch:
    urlpatterns = [
        path("spend/analytics/", include("showback.analytics_urls")),
        path("api/v1/", include("showback.api.analytics")),
        *project,
    ]

handler403 = "aifinops.core.views.permission_denied"
handler404 = "aifinops.core.views.page_not_found"
handler500 = "aifinops.core.views.server_error"
