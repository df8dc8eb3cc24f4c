from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "aifinops.core"
    label = "core"
    verbose_name = "Core"
