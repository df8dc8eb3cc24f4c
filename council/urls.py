from django.urls import path

from . import views

app_name = "council"

urlpatterns = [
    path("", views.index, name="index"),
    path("agenda/build/", views.agenda_build, name="agenda_build"),
    path("meetings/", views.meeting_list, name="meeting_list"),
    path("meetings/<int:pk>/", views.meeting_detail, name="meeting_detail"),
    path("meetings/<int:pk>/build/", views.agenda_build, name="meeting_build"),
    path("meetings/<int:pk>/publish/", views.meeting_publish, name="meeting_publish"),
    path("meetings/<int:pk>/start/", views.meeting_start, name="meeting_start"),
    path("meetings/<int:pk>/close/", views.meeting_close, name="meeting_close"),
    path("meetings/<int:pk>/output/", views.meeting_output, name="meeting_output"),
    path("meetings/<int:pk>/approved-spend.csv", views.approved_spend_csv, name="approved_spend_csv"),
    path("items/<int:pk>/", views.item_detail, name="item_detail"),
    path("items/<int:pk>/vote/", views.vote_cast, name="vote_cast"),
    path("items/<int:pk>/decide/", views.decision_record, name="decision_record"),
    path("mine/", views.my_items, name="my_items"),
    path("use-cases/<slug:key>/", views.use_case_history, name="use_case_history"),
    path("use-cases/<slug:key>/funding/", views.funding_request_create, name="funding_request_create"),
]
