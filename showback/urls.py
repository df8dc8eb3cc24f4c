from django.urls import path

from . import views

app_name = "showback"

urlpatterns = [path("", views.index, name="index")]
