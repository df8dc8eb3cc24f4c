from django.urls import path

from . import overview_views, views

app_name = "dashboard"

urlpatterns = [
    path("", views.dashboard, name="index"),
    path("chart.csv", views.chart_csv, name="chart_csv"),
    path("narrative/", overview_views.narrative, name="narrative"),
    path("maturity/", overview_views.maturity, name="maturity"),
]
