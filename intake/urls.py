from django.urls import path

from . import views

app_name = "intake"

urlpatterns = [
    path("", views.intake_list, name="index"),
    path("new/", views.intake_create, name="create"),
    path("<int:pk>/", views.intake_detail, name="detail"),
    path("<int:pk>/edit/", views.intake_edit, name="edit"),
    path("<int:pk>/withdraw/", views.intake_withdraw, name="withdraw"),
    path("<int:pk>/accept/", views.intake_accept, name="accept"),
    path("<int:pk>/reject/", views.intake_reject, name="reject"),
    path("form/validate/", views.validate_field, name="validate_field"),
    path("form/agent-section/", views.agent_section, name="agent_section"),
    path("form/estimate/", views.cost_estimate, name="cost_estimate"),
    path("form/duplicates/", views.duplicates, name="duplicates"),
]
