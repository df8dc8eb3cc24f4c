from django.urls import path

from . import views

app_name = "dashboard"

urlpatterns = [
    path("", views.dashboard, name="index"),
    path("chart.csv", views.chart_csv, name="chart_csv"),
    path("narrative/", views.narrative, name="narrative"),
    path("maturity/", views.maturity, name="maturity"),
]

# The metric hierarchy of one use case is a page of the use case (`portfolio:use_case_metrics`, at
# /portfolio/use-cases/<key>/metrics/) that reads the spend ledger as the dashboard does, so it
# lives here, above portfolio; the project's URLconf mounts it in the portfolio namespace.
use_case_urlpatterns = [
    path("use-cases/<slug:key>/metrics/", views.use_case_metrics, name="use_case_metrics"),
]
