import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aifinops.settings.local")

app = Celery("aifinops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
