"""The exchange rate pages. Included by showback.urls, in its namespace."""

from django.urls import path

from . import views

urlpatterns = [
    path("rates/", views.exchange_rate_list, name="exchange_rate_list"),
    path("rates/upload/", views.exchange_rate_upload, name="exchange_rate_upload"),
    path("rates/reporting-currency/", views.reporting_currency_edit, name="reporting_currency_edit"),
]
