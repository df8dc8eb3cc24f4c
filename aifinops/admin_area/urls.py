from django.urls import path

from . import views

app_name = "admin_area"

urlpatterns = [
    path("", views.index, name="index"),
    path("people/", views.person_list, name="person_list"),
    path("people/invite/", views.person_invite, name="person_invite"),
    path("people/<int:pk>/", views.person_detail, name="person_detail"),
    path("people/<int:pk>/roles/", views.person_roles, name="person_roles"),
    path("people/<int:pk>/deactivate/", views.person_deactivate, name="person_deactivate"),
    path("people/<int:pk>/reactivate/", views.person_reactivate, name="person_reactivate"),
    path("roles/", views.role_list, name="role_list"),
    path("teams/", views.team_list, name="team_list"),
    path("teams/<slug:slug>/", views.team_detail, name="team_detail"),
    path("teams/<slug:slug>/members/", views.member_add, name="member_add"),
    path("teams/<slug:slug>/members/<int:pk>/role/", views.member_role, name="member_role"),
    path("teams/<slug:slug>/members/<int:pk>/remove/", views.member_remove, name="member_remove"),
    path("triage-rules/", views.triage_rule_list, name="triage_rule_list"),
    path("triage-rules/<slug:code>/", views.triage_rule_edit, name="triage_rule_edit"),
]
