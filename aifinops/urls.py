from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from aifinops import views
from aifinops.core.api.docs import ApiDocsView
from aifinops.dashboard.urls import use_case_urlpatterns as dashboard_use_case_urlpatterns
from aifinops.search.api import SearchApi
from portfolio import urls as portfolio_urls
from showback.gateway.api import authorize_endpoint

admin.site.site_header = "aifinops administration"
admin.site.site_title = "aifinops admin"
admin.site.index_title = "Users, teams, roles and catalogs"

api_v1 = [
    path("", include("aifinops.core.api.urls")),
    path("", include("portfolio.api.urls")),
    path("", include("intake.api.urls")),
    path("", include("showback.api")),
    path("", include("showback.analytics.api")),
    path("", include("council.api.urls")),
    path("", include("aifinops.admin_area.api")),
    path("search/", SearchApi.as_view(), name="api-search"),
]

urlpatterns = [
    # First: gateways call it a thousand times a second, and the walk through every pattern above
    # it cost a fifth of each call.
    path("api/v1/authorize/", authorize_endpoint, name="api-authorize"),
    path("", views.home, name="home"),
    path("", include("aifinops.core.urls")),
    # The portfolio's pages, and the use case's metric hierarchy from the dashboard package (it may
    # read every app; portfolio may not import it), under one namespace: portfolio:<name>.
    path(
        "portfolio/",
        include(([*portfolio_urls.urlpatterns, *dashboard_use_case_urlpatterns], portfolio_urls.app_name)),
    ),
    path("dashboard/", include("aifinops.dashboard.urls")),
    path("intake/", include("intake.urls")),
    path("showback/", include("showback.urls")),
    path("showback/analytics/", include("showback.analytics.urls")),
    path("council/", include("council.urls")),
    path("search/", include("aifinops.search.urls")),
    # Administration in the product (platform admins); /admin/ stays Django's own.
    path("administration/", include("aifinops.admin_area.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
]

handler403 = "aifinops.core.views.permission_denied"
handler404 = "aifinops.core.views.page_not_found"
handler500 = "aifinops.core.views.server_error"
