"""The attribution rule pages. Included by showback.urls, in its namespace."""

from django.urls import path

from . import views

urlpatterns = [
    path("rules/", views.rule_list, name="rule_list"),
    path("rules/<int:pk>/", views.rule_list, name="rule_edit"),
    path("rules/<int:pk>/delete/", views.rule_delete, name="rule_delete"),
    path("unattributed/", views.unattributed, name="unattributed"),
    path("unattributed/tags/", views.tag_mapping, name="tag_mapping"),
]
