"""Every page and endpoint requires login, except the login page, the health check, the favicon and
an invitation's set-password link (whose token is the credential)."""

import pytest
from django.urls import Resolver404, resolve

from .urlwalk import all_paths

pytestmark = pytest.mark.django_db

# Pages that must answer an anonymous visitor.
PUBLIC = {"core:login", "core:healthz", "core:password_set", "core:favicon", "admin:login"}


def _classify(path, name):
    if name in PUBLIC or (name and name.startswith("admin:") and name.endswith("login")):
        return "public"
    if path.startswith("/api/") and not path.startswith("/api/docs/"):
        return "api"
    return "page"


def test_the_walk_covers_the_project():
    paths = all_paths()
    names = {name for _, name in paths}

    assert len(paths) > 60
    assert {"home", "core:profile", "portfolio:use_case_list", "api-schema", "api-use-case-list"} <= names


@pytest.mark.parametrize(("path", "name"), all_paths(), ids=lambda v: str(v))
def test_anonymous_is_sent_to_login_or_refused(client, path, name):
    try:
        resolve(path)
    except Resolver404:
        pytest.fail(f"sample path {path!r} for {name!r} does not resolve")

    kind = _classify(path, name)
    for method in ("get", "post"):
        response = getattr(client, method)(path)
        if kind == "public":
            assert response.status_code in (200, 301, 302, 405), (method, path, response.status_code)
            if response.status_code in (301, 302):
                assert "/accounts/login/" not in response["Location"]
        elif kind == "api":
            assert response.status_code in (401, 403), (method, path, response.status_code)
        else:
            assert response.status_code == 302, (method, path, response.status_code)
            # The admin sends to its own login page, which authenticates through the same backends.
            login_pages = ("/accounts/login/?next=", "/admin/login/?next=")
            assert response["Location"].startswith(login_pages), response["Location"]
