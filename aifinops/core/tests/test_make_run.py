"""`make run`: the embedded default (SQLite, tasks in-process, demo data) serves every main page.

The suite runs on PostgreSQL, so SQL that only PostgreSQL understands (`= ANY(array)`, say) would
pass every other test and still answer 500 to someone trying the product with `make run`. Here a
fresh process with the `local` profile migrates a new SQLite file, seeds the demo data as `make run`
does, and opens every main page as each demo login: each answers 200, 403 to a role that may not
open it or 404 for an object it may not see, never 5xx.
"""

import json
import os
import subprocess
import sys

from django.conf import settings

SCRIPT = """
import json, django
django.setup()
from django.contrib.auth import get_user_model
from django.test import Client
from aifinops.core.tests.pages import PERSONAS, main_pages

answers = {}
for username in PERSONAS:
    client = Client(SERVER_NAME="localhost", raise_request_exception=False)
    client.force_login(get_user_model().objects.get(username=username))
    for url in main_pages():
        answers[f"{username} {url}"] = client.get(url).status_code
print(json.dumps(answers))
"""


def _run(args, env):
    return subprocess.run(
        [sys.executable, *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_make_run_on_sqlite_serves_every_main_page_to_every_role(tmp_path):
    dropped = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "aifinops.settings.local",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'aifinops.sqlite3'}",
            "MEDIA_ROOT": str(tmp_path / "media"),
        }
    )
    for step in (["manage.py", "migrate", "--no-input"], ["manage.py", "seed_demo"]):
        result = _run(step, env)
        assert result.returncode == 0, result.stderr[-3000:]

    result = _run(["-c", SCRIPT], env)

    assert result.returncode == 0, result.stderr[-3000:]
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(answers) > 100
    # 403 to a role the page is not for; 404 for a detail page whose object that role may not see.
    broken = {page: status for page, status in answers.items() if status not in (200, 403, 404)}
    assert not broken, f"on SQLite these pages did not answer 200, 403 or 404: {broken}"
    assert sum(status == 200 for status in answers.values()) > 100
