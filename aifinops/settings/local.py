"""The embedded default used by `make run`: SQLite under var/, tasks in-process, demo data."""

from .base import *  # noqa: F403
from .base import SECRET_KEY, VAR_DIR, env

AIFINOPS_PROFILE = "local"
DEBUG = env.bool("DEBUG", default=True)
# A fixed key is acceptable only here: this profile serves 127.0.0.1 with demo data.
SECRET_KEY = SECRET_KEY or "local-development-only-not-a-secret-" + "x" * 20
VAR_DIR.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
