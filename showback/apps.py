from django.apps import AppConfig


class ShowbackConfig(AppConfig):
    name = "showback"
    verbose_name = "Showback"
