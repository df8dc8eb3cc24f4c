import pytest

from .gateway_helpers import catalog, gateway_key, redis_clean  # noqa: F401 - the gateway tests' fixtures


@pytest.fixture
def queued_tasks_run(django_capture_on_commit_callbacks, monkeypatch):
    """Run what a test-client request queues on commit when the request ends, as the worker would.

    Tests run inside a transaction that never commits, so on-commit work (queuing an import,
    re-attributing spend) would otherwise never happen.
    """
    from django.test import Client

    original = Client.request

    def request(self, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return original(self, **kwargs)

    monkeypatch.setattr(Client, "request", request)
