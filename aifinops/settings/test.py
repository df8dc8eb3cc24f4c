"""The profile of the test suite. `make test` points DATABASE_URL and REDIS_URL at real services."""

import os
from urllib.parse import urlsplit, urlunsplit

from .base import *  # noqa: F403
from .base import AIFINOPS_GATEWAY_REDIS_URL, CACHES, DATABASES, REDIS_URL, REST_FRAMEWORK

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

# Under pytest-xdist (`make test` runs two processes) each worker has its own test database
# (pytest-django names it test_aifinops_gw0, ...) and here its own Redis database, so the gateway
# counters, the cache and the broker of one worker never see another's keys (ids repeat across
# workers' databases). gw0 uses Redis database 1, gw1 database 2, and so on.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if REDIS_URL and _worker.startswith("gw"):
    _parts = urlsplit(REDIS_URL)
    _own = urlunsplit(_parts._replace(path=f"/{int(_worker[2:]) + 1}"))
    if AIFINOPS_GATEWAY_REDIS_URL == REDIS_URL:
        AIFINOPS_GATEWAY_REDIS_URL = _own
    REDIS_URL = os.environ["REDIS_URL"] = _own
    CACHES = {"default": {**CACHES["default"], "LOCATION": REDIS_URL}}
    CELERY_BROKER_URL = CELERY_RESULT_BACKEND = REDIS_URL
