"""The commitments pages. Included by showback.urls, in its namespace."""

from django.urls import path

from . import views

urlpatterns = [
    path("commitments/", views.commitment_list, name="commitment_list"),
    path("commitments/new/", views.commitment_create, name="commitment_create"),
    path("commitments/import/", views.commitment_import, name="commitment_import"),
    path("commitments/<int:pk>/", views.commitment_detail, name="commitment_detail"),
]
