"""The demo data (seed_demo) for tests, built once per session.

seed_demo takes tens of seconds. The first test that asks for `demo` builds it once, into a
database of its own copied from the test database; each test that asks for `demo` then runs on a
fresh copy of that one (PostgreSQL copies a database from a template in about a second), so what
a test writes never reaches another test. The copy is committed data, so `demo` makes the test
transactional: the live server's threads and the test see the same rows, and pytest-django runs
such tests after the others.

Import the fixtures in a conftest.py.
"""

import importlib
import io
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from aifinops.core.testing.browser import DATA_MIGRATIONS

# The demo users' password in tests, whatever DEMO_PASSWORD the environment sets.
PASSWORD = "demo"  # noqa: S105


@dataclass(frozen=True)
class DemoDatabase:
    name: str  # the database seed_demo filled, the template of each test's copy
    output: str  # what seed_demo printed
    media_root: Path  # the files it stored (an uploaded seat list)
    password: str  # the demo users' password


def _use_database(name):
    """Point the default connection, and the connections threads open later, at database `name`."""
    connection.close()
    connection.settings_dict["NAME"] = name
    settings.DATABASES["default"]["NAME"] = name


def _create_database(name, template):
    with connection._nodb_cursor() as cursor:
        # PostgreSQL copies a template only while nobody else uses it: end the sessions that
        # threads of earlier tests (a live server's, a concurrency test's) left open on it.
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [template],
        )
        cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def _drop_database(name):
    with connection._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def demo_database(django_db_setup, django_db_blocker, tmp_path_factory):
    if connection.vendor != "postgresql":
        pytest.fail("The demo data fixtures copy PostgreSQL databases: `make test` runs on PostgreSQL.")
    test_database = connection.settings_dict["NAME"]
    name = f"{test_database}_demo"
    media_root = tmp_path_factory.mktemp("demo-media")
    out = io.StringIO()
    with django_db_blocker.unblock():
        connection.close()
        _drop_database(name)
        _create_database(name, test_database)
        _use_database(name)
        try:
            from django.apps import apps

            # The rows data migrations create, which a transactional test's flush may have removed.
            for module, function in DATA_MIGRATIONS:
                getattr(importlib.import_module(module), function)(apps, None)
            with override_settings(DEMO_PASSWORD=PASSWORD, MEDIA_ROOT=str(media_root)):
                call_command("seed_demo", stdout=out)
        finally:
            _use_database(test_database)
    yield DemoDatabase(name=name, output=out.getvalue(), media_root=media_root, password=PASSWORD)
    with django_db_blocker.unblock():
        connection.close()
        _drop_database(name)


@pytest.fixture
def demo(demo_database, transactional_db, django_db_blocker, settings, tmp_path):
    """The test runs on its own copy of the demo data (and of the files it stored)."""
    test_database = connection.settings_dict["NAME"]
    name = f"{test_database}_copy"
    media_root = tmp_path / "media"
    shutil.copytree(demo_database.media_root, media_root)
    settings.MEDIA_ROOT = str(media_root)
    with django_db_blocker.unblock():
        connection.close()
        _create_database(name, demo_database.name)
        _use_database(name)
    try:
        yield demo_database
    finally:
        with django_db_blocker.unblock():
            _use_database(test_database)
            _drop_database(name)


def pytest_collection_modifyitems(items):
    """Under pytest-xdist (`--dist loadgroup`) the tests on the demo data share one worker, so
    seed_demo runs once per run, not once per worker."""
    for item in items:
        if "demo" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("demo"))
