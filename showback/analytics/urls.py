"""Pages of anomalies and forecasts. Included under spend/analytics/ with the namespace "analytics"."""

from django.urls import path

from . import views

app_name = "analytics"

urlpatterns = [
    path("anomalies/", views.anomaly_list, name="anomaly_list"),
    path("anomalies/<int:pk>/", views.anomaly_detail, name="anomaly_detail"),
    path(
        "anomalies/<int:pk>/acknowledge/",
        views.anomaly_triage,
        {"action": "acknowledge"},
        name="anomaly_acknowledge",
    ),
    path("anomalies/<int:pk>/explain/", views.anomaly_triage, {"action": "explain"}, name="anomaly_explain"),
    path("anomalies/<int:pk>/resolve/", views.anomaly_triage, {"action": "resolve"}, name="anomaly_resolve"),
    path("forecast/", views.forecast_portfolio, name="forecast_portfolio"),
    path("forecast/assumptions/<int:pk>/delete/", views.assumption_delete, name="assumption_delete"),
    path("forecast/<slug:key>/", views.forecast_use_case, name="forecast_use_case"),
]
