from django.urls import path

from . import chargeback_views, import_views, views

app_name = "showback"

urlpatterns = [
    path("", views.index, name="index"),
    *import_views.urlpatterns,
    *chargeback_views.urlpatterns,
]
