from django.urls import path

from . import views, workspace
from .gates import views as gate_views
from .licenses import views as license_views
from .value import views as value_views

app_name = "portfolio"

urlpatterns = [
    path("", views.use_case_list, name="use_case_list"),
    path("export.csv", views.use_case_export, name="use_case_export"),
    path("use-cases/<slug:key>/", views.use_case_detail, name="use_case_detail"),
    *[
        path(
            f"use-cases/<slug:key>/tab/{tab}/",
            views.use_case_detail,
            {"tab": tab},
            name=f"use_case_tab_{tab}",
        )
        for tab in workspace.TAB_NAMES
        if tab != workspace.OVERVIEW
    ],
    path("teams/", views.team_list, name="team_list"),
    path("teams/<slug:slug>/", views.team_detail, name="team_detail"),
    path("models/", views.model_catalog, name="model_catalog"),
    path("models/<int:pk>/", views.model_detail, name="model_detail"),
    path("models/<int:pk>/edit/", views.model_update, name="model_update"),
    path("models/<int:pk>/prices/", views.model_price_add, name="model_price_add"),
    *gate_views.urlpatterns,
    *value_views.urlpatterns,
    *license_views.urlpatterns,
]
