"""The profile of the test suite. `make test` points DATABASE_URL and REDIS_URL at real services."""

from .base import *  # noqa: F403
from .base import DATABASES, REST_FRAMEWORK

AIFINOPS_PROFILE = "test"
DEBUG = False
SECRET_KEY = "test-only-not-a-secret-" + "y" * 40
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tasks run in-process by default so that a test sees their effect; the worker test switches this
# off to send a task through the real broker to a real worker.
CELERY_TASK_ALWAYS_EAGER = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# The test runner empties every table with TRUNCATE between transactional tests; the audit table's
# trigger refuses TRUNCATE except to a connection that starts with this (core migration 0005).
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = (_options.get("options", "") + " -c aifinops.audit_truncate=allow").strip()
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"user": None}}
# Serve static files from the finders (no collectstatic in tests), as the browser tests need.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
