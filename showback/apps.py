from django.apps import AppConfig


class ShowbackConfig(AppConfig):
    name = "showback"
    verbose_name = "Showback"

    def ready(self):
        # The gateway is a package of showback, not an app: connect its receivers and register
        # its tasks here (Celery discovers only <app>.tasks).
        from .gateway import signals, tasks  # noqa: F401

        signals.connect()
