"""The showback pages, under the namespace "showback": the ledger's page here, each feature's pages
from its own urls module (included by name, so the ledger imports no feature)."""

from django.urls import include, path

from . import views

app_name = "showback"

urlpatterns = [
    path("", views.index, name="index"),
    path("", include("showback.ingest.urls")),
    path("", include("showback.chargeback.urls")),
    path("", include("showback.attribution.urls")),
    path("", include("showback.budgets.urls")),
    path("", include("showback.gateway.views")),
    path("", include("showback.margins.urls")),
    path("", include("showback.commitments.urls")),
    path("", include("showback.rates.urls")),
]
