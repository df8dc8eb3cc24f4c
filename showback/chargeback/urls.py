"""The chargeback, reconciliation and FOCUS export pages. Included by showback.urls, in its namespace."""

from django.urls import path

from . import views

urlpatterns = [
    path("chargeback/", views.chargeback_index, name="chargeback"),
    path(
        "chargeback/<slug:team>/<int:year>-<int:month>/",
        views.chargeback_statement,
        name="chargeback_statement",
    ),
    path(
        "chargeback/<slug:team>/<int:year>-<int:month>/statement.csv",
        views.chargeback_csv,
        name="chargeback_csv",
    ),
    path("reconciliation/", views.reconciliation, name="reconciliation"),
    path("exports/focus-<int:year>-<int:month>.csv", views.focus_export, name="focus_export"),
]
