"""The margins pages. Included by showback.urls, in its namespace."""

from django.urls import path

from . import views

urlpatterns = [
    path("margins/", views.margins, name="margins"),
    path("margins/revenue/", views.revenue_upload, name="revenue_upload"),
    path("margins/customers.csv", views.margins_csv, name="margins_csv"),
]
