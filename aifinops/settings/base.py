"""Settings shared by every profile. Every value comes from the environment.

Without DATABASE_URL the product runs on a SQLite file under var/; without REDIS_URL Celery
tasks run eagerly in-process and the cache is local memory. See README.md for the variables.
"""

from decimal import Decimal
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

SECRET_KEY = env("SECRET_KEY", default="")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Which profile is running: "local", "test" or "production". Demo users refuse to exist in production.
AIFINOPS_PROFILE = "base"
DEMO_PASSWORD = env("DEMO_PASSWORD", default="demo")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
    "aifinops.core",
    "portfolio",
    "intake",
    "showback",
    "council",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "aifinops.core.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "aifinops.urls"
WSGI_APPLICATION = "aifinops.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "aifinops.core.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'aifinops.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
# Services own their transactions (STYLE.md rule 10).
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "aifinops",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: a real broker when REDIS_URL is set, otherwise tasks run in-process.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict = {
    "portfolio-mark-missed-milestones": {
        "task": "portfolio.mark_missed_milestones",
        "schedule": 60 * 60,
    },
    "portfolio-warn-renewals": {
        "task": "portfolio.warn_renewals",
        "schedule": 24 * 60 * 60,
    },
    # Before each meeting the agenda gathers the open review triggers; running it again adds nothing.
    "council-build-agenda": {
        "task": "council.build_agenda",
        "schedule": 6 * 60 * 60,
    },
    # Imports also queue an evaluation; the hourly run catches spend that arrives otherwise.
    "showback-evaluate-budgets": {
        "task": "showback.evaluate_budgets",
        "schedule": 60 * 60,
    },
    # Each scan looks at the last three days again, so spend imported late is still checked.
    "showback-scan-anomalies": {
        "task": "showback.scan_anomalies",
        "schedule": 6 * 60 * 60,
    },
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# django-axes sits first so that a locked-out user is refused before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failures lock a username from one client address after LOGIN_FAILURE_LIMIT, and the address
# itself, whatever the username, after LOGIN_ADDRESS_FAILURE_LIMIT: higher, since an office's
# people often share one NAT address (aifinops/core/login_throttle.py). Both within the cool-off.
AXES_HANDLER = "aifinops.core.login_throttle.LoginThrottle"
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_ADDRESS_FAILURE_LIMIT = env.int("LOGIN_ADDRESS_FAILURE_LIMIT", default=30)
AXES_COOLOFF_TIME = env.float("LOGIN_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ENABLE_ADMIN = True

LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "core:login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = env("MEDIA_ROOT", default=str(VAR_DIR / "media"))

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="aifinops@localhost")
# A use case whose expected monthly cost is above this needs an approved funding decision to move.
AIFINOPS_REVIEW_FUNDING_THRESHOLD = Decimal(env("REVIEW_FUNDING_THRESHOLD", default="5000"))
# A budget increase above this amount (the increase, in the budget's currency) also goes to the council.
AIFINOPS_COUNCIL_BUDGET_INCREASE_ABOVE = Decimal(env("COUNCIL_BUDGET_INCREASE_ABOVE", default="10000"))
# A use case whose annualised model spend (its last 30 days of AI spend x 365/30, in this currency)
# reaches BUILD_VS_BUY_APPROACH_PCT % of this amount is flagged for a build-versus-buy review
# (self-hosting, fine-tuning) on the dashboard, the narrative and its own page.
AIFINOPS_BUILD_VS_BUY_ANNUAL = Decimal(env("BUILD_VS_BUY_ANNUAL", default="500000"))
AIFINOPS_BUILD_VS_BUY_CURRENCY = env("BUILD_VS_BUY_CURRENCY", default="USD")
# The reporting currency until a platform admin or finance analyst sets it on the rates page.
AIFINOPS_REPORTING_CURRENCY = env("REPORTING_CURRENCY", default="USD")
AIFINOPS_BUILD_VS_BUY_APPROACH_PCT = Decimal(env("BUILD_VS_BUY_APPROACH_PCT", default="80"))
# `manage.py seed_demo` runs these modules in this order, each exposing `seed(*, stdout)` (append
# new demo modules here), and counts the rows of these models (app_label.Model) in its summary.
AIFINOPS_DEMO_MODULES = [
    "aifinops.core.demo",
    "portfolio.demo",
    "intake.demo",
    "showback.demo",
    "portfolio.gates.demo",
    "portfolio.licenses.demo",
    "showback.analytics.demo",
    "showback.commitments.demo",
    "council.demo",
    "aifinops.dashboard.demo",
]
AIFINOPS_DEMO_COUNTED_MODELS = [
    "auth.User",
    "portfolio.Team",
    "portfolio.Membership",
    "portfolio.Provider",
    "portfolio.AIModel",
    "portfolio.UseCase",
    "portfolio.ToolSubscription",
    "intake.IntakeRequest",
    "showback.SpendRecord",
    "showback.DailySpend",
    "showback.Anomaly",
    "council.Council",
    "council.CouncilMember",
    "core.AuditEvent",
]
# Intake limits of spend files, sized for a year of a large company's AI bill (about ten million
# FOCUS rows: some 10 GB of CSV, 1 GB gzipped). The upload as sent (MB); what a .gz may expand to
# (MB) and how many times its size; the longest line of a CSV, or record of a JSON file (KB).
AIFINOPS_IMPORT_MAX_BYTES = env.int("IMPORT_MAX_MB", default=1024) * 1024 * 1024
AIFINOPS_IMPORT_MAX_DECOMPRESSED_BYTES = env.int("IMPORT_MAX_DECOMPRESSED_MB", default=20480) * 1024 * 1024
AIFINOPS_IMPORT_MAX_RATIO = env.int("IMPORT_MAX_RATIO", default=200)
AIFINOPS_IMPORT_MAX_LINE_BYTES = env.int("IMPORT_MAX_LINE_KB", default=4096) * 1024
# A running import beats every few seconds; one silent this long is failed by the sweeper.
AIFINOPS_IMPORT_STALE_SECONDS = env.int("IMPORT_STALE_SECONDS", default=300)
AIFINOPS_IMPORT_HEARTBEAT_SECONDS = env.int("IMPORT_HEARTBEAT_SECONDS", default=15)
# A queued import no worker has started this long is handed to the workers again (the broker may
# have lost its task); still queued after twice this long, it is failed, saying to check the worker.
AIFINOPS_IMPORT_QUEUED_SECONDS = env.int("IMPORT_QUEUED_SECONDS", default=900)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# The address people reach the product at, for links in emails.
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")

REST_FRAMEWORK = {
    # Token first, so that an anonymous API call gets 401 with a WWW-Authenticate header.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "aifinops.core.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "aifinops.core.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "aifinops.core.api.errors.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "aifinops.core.api.parsers.JSONObjectParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "COERCE_DECIMAL_TO_STRING": True,
    "DEFAULT_THROTTLE_RATES": {"user": "5000/hour"},
}

SPECTACULAR_SETTINGS = {
    "TITLE": "aifinops API",
    "DESCRIPTION": (
        "The REST API of aifinops: use cases, teams, spend and governance. Authenticate with a "
        "personal API token (`Authorization: Token <key>`), created on your profile page."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # The error answers every operation can give (401, 403, 404…), in the one error body.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "aifinops.core.api.schema.add_error_responses",
    ],
    # Choice sets that share a field name (mode) or appear under two names (function).
    "ENUM_NAME_OVERRIDES": {
        "BusinessFunctionEnum": "portfolio.choices.BusinessFunction",
        "BudgetModeEnum": "showback.models.BudgetMode",
        "ImportModeEnum": "showback.models.ImportMode",
        # The council's: a vote's choice and a decision's outcome are one set; target_stage is a
        # stage; an item's severity has the risk tiers' values; statuses share their field name.
        "VoteChoiceEnum": "council.models.VoteChoice",
        "StageEnum": "portfolio.choices.Stage",
        "RiskTierEnum": "portfolio.choices.RiskTier",
        "AgendaItemStatusEnum": "council.models.AgendaItemStatus",
        "FundingStatusEnum": "council.models.FundingStatus",
        # Fields named alike across the API: a price's kind and tier, a provider's kind, a model's
        # tier, a cost line's category and a commitment's.
        "PriceKindEnum": "portfolio.choices.PriceKind",
        "PriceTierEnum": "portfolio.choices.PriceTier",
        "ProviderKindEnum": "portfolio.choices.ProviderKind",
        "CommitmentCategoryEnum": "showback.models.CommitmentCategory",
        "CostCategoryEnum": "portfolio.choices.CostCategory",
        "ModelTierEnum": "portfolio.choices.ModelTier",
        # A budget may be in any ISO 4217 currency; estimates and values in the five common ones.
        "BudgetCurrencyEnum": "showback.budgets.forms.BUDGET_CURRENCIES",
        "CurrencyEnum": "portfolio.value.forms.CURRENCIES",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# The call-path guardrails (showback.gateway). Authorization counters live in Redis; when it cannot
# be reached, "open" allows calls that pass the policy checks (answering warn) and "closed" denies
# every call. The answer names the policy either way.
AIFINOPS_AUTHORIZE_REDIS_DOWN = env("AIFINOPS_AUTHORIZE_REDIS_DOWN", default="closed")
AIFINOPS_GATEWAY_REDIS_URL = env("GATEWAY_REDIS_URL", default=REDIS_URL)
# How long an allowed call's estimated cost stays reserved if no usage event settles it.
AIFINOPS_RESERVATION_TTL_SECONDS = env.int("RESERVATION_TTL_SECONDS", default=300)
# Seconds the authorization endpoint waits for Redis before applying the policy above.
AIFINOPS_GATEWAY_REDIS_TIMEOUT = env.float("GATEWAY_REDIS_TIMEOUT", default=0.25)
CELERY_BEAT_SCHEDULE["showback-gateway-flush"] = {"task": "showback.gateway_flush", "schedule": 15}
# Cap counters against the ledger: neither an overspend nor a false block outlives one interval.
AIFINOPS_CAP_RECONCILE_SECONDS = env.int("CAP_RECONCILE_SECONDS", default=60)
CELERY_BEAT_SCHEDULE["showback-gateway-caps-reconcile"] = {
    "task": "showback.gateway_caps_reconcile",
    "schedule": AIFINOPS_CAP_RECONCILE_SECONDS,
}
# Usage events mark the days they touch; the worker rebuilds their rollups. Each batch queues a
# run; this one catches up whatever a killed worker or an unreachable broker left.
CELERY_BEAT_SCHEDULE["showback-import-sweep"] = {"task": "showback.import_sweep", "schedule": 60}
CELERY_BEAT_SCHEDULE["showback-usage-rollups"] = {"task": "showback.usage_rollups", "schedule": 30}
