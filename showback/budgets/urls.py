"""The budget pages. Included by showback.urls, in its namespace."""

from django.urls import path

from . import views

urlpatterns = [
    path("budgets/", views.budget_list, name="budget_list"),
    path("budgets/new/", views.budget_create, name="budget_create"),
    path("budgets/<int:pk>/", views.budget_detail, name="budget_detail"),
    path("budgets/<int:pk>/edit/", views.budget_edit, name="budget_edit"),
    path("budgets/alerts/<int:pk>/acknowledge/", views.alert_acknowledge, name="budget_alert_acknowledge"),
    path("budgets/alerts/<int:pk>/resolve/", views.alert_resolve, name="budget_alert_resolve"),
    path("budgets/requests/<int:pk>/approve/", views.increase_approve, name="budget_increase_approve"),
    path("budgets/requests/<int:pk>/reject/", views.increase_reject, name="budget_increase_reject"),
    path("budgets/webhooks/", views.webhooks, name="budget_webhooks"),
    path("budgets/webhooks/<int:pk>/", views.webhooks, name="budget_webhook_edit"),
]
