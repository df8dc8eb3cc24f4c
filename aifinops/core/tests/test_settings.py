"""The profiles, checked in fresh processes with only the environment the README documents."""

import os
import subprocess
import sys

from django.conf import settings

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "aifinops.settings.production",
    "SECRET_KEY": "x7Kq9-not-a-real-key-but-long-and-varied-3fJ2mZpR8wLtN5vB0cYh",
    "ALLOWED_HOSTS": "aifinops.example.com",
    "DATABASE_URL": "postgres://aifinops@db.invalid:5432/aifinops",
    "REDIS_URL": "redis://redis.invalid:6379/0",
}


def _run(args, env):
    dropped = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE")
    base = {k: v for k, v in os.environ.items() if k not in dropped}
    return subprocess.run(
        [sys.executable, *args],
        cwd=settings.BASE_DIR,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_profile_passes_check_deploy_without_warnings():
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION_ENV)

    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_profile_refuses_to_start_without_secret_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}

    result = _run(["manage.py", "check"], env)

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_profile_refuses_to_seed_demo_users():
    result = _run(["manage.py", "seed_demo"], PRODUCTION_ENV)

    assert result.returncode != 0
    assert "refuses to create demo users" in result.stderr


def test_embedded_default_is_sqlite_in_process_tasks_and_local_cache():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME'], "
        "s.CELERY_TASK_ALWAYS_EAGER, s.CACHES['default']['BACKEND'])"
    )

    result = _run(["-c", code], {"DJANGO_SETTINGS_MODULE": "aifinops.settings.local"})

    engine, name, eager, cache = result.stdout.split()
    assert engine == "django.db.backends.sqlite3"
    assert name.endswith("var/aifinops.sqlite3")
    assert eager == "True"
    assert cache.endswith("LocMemCache")


def test_with_urls_the_profile_uses_postgresql_and_redis():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.CELERY_BROKER_URL, "
        "s.CACHES['default']['BACKEND'])"
    )

    result = _run(["-c", code], {**PRODUCTION_ENV})

    engine, eager, broker, cache = result.stdout.split()
    assert engine == "django.db.backends.postgresql"
    assert eager == "False"
    assert broker == "redis://redis.invalid:6379/0"
    assert cache.endswith("RedisCache")
