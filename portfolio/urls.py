from django.urls import path

from . import gate_views, license_views, value_views, views
from .dashboard import use_case_views

app_name = "portfolio"

urlpatterns = [
    path("", views.use_case_list, name="use_case_list"),
    path("export.csv", views.use_case_export, name="use_case_export"),
    path("use-cases/<slug:key>/", views.use_case_detail, name="use_case_detail"),
    path("use-cases/<slug:key>/metrics/", use_case_views.use_case_metrics, name="use_case_metrics"),
    path("teams/", views.team_list, name="team_list"),
    path("teams/<slug:slug>/", views.team_detail, name="team_detail"),
    path("models/", views.model_catalog, name="model_catalog"),
    *gate_views.urlpatterns,
    *value_views.urlpatterns,
    *license_views.urlpatterns,
]
