"""The spend import pages. Included by showback.urls, in its namespace."""

from django.urls import path

from . import views

urlpatterns = [
    path("imports/", views.import_list, name="import_list"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("imports/<int:pk>/rejects.csv", views.import_rejects, name="import_rejects"),
]
