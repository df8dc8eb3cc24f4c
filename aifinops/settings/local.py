"""The embedded default used by `make run`: SQLite under var/, tasks in-process, demo data."""

from .base import *  # noqa: F403
from .base import DATABASES, REDIS_URL, SECRET_KEY, VAR_DIR, env

AIFINOPS_PROFILE = "local"
DEBUG = env.bool("DEBUG", default=True)
# A fixed key is acceptable only here: this profile serves 127.0.0.1 with demo data.
SECRET_KEY = SECRET_KEY or "local-development-only-not-a-secret-" + "x" * 20
VAR_DIR.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# No worker here: spend imports run in a thread of the web process, so the upload page can show
# their progress; WAL lets pages read while an import writes, and writers wait rather than fail.
AIFINOPS_IMPORT_IN_THREAD = not REDIS_URL
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"init_command": "PRAGMA journal_mode=WAL;", "timeout": 30, "transaction_mode": "IMMEDIATE"}
    )
