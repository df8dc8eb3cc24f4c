from django.urls import path

from . import attribution_views, budget_views, chargeback_views, import_views, margins_views, views
from .gateway import views as gateway_views

app_name = "showback"

urlpatterns = [
    path("", views.index, name="index"),
    *import_views.urlpatterns,
    *chargeback_views.urlpatterns,
    *attribution_views.urlpatterns,
    *budget_views.urlpatterns,
    *gateway_views.urlpatterns,
    *margins_views.urlpatterns,
]
