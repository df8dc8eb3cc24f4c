"""Load the demo data: people and roles, teams, the model catalog, use cases, spend, the council.

Safe to run again: every demo module looks its rows up by natural key first, so a second run
writes nothing. Refuses to run in the production profile.

Core imports no app: which demo modules run, in which order, and which tables the summary counts
are the project's wiring, in settings (`AIFINOPS_DEMO_MODULES`, `AIFINOPS_DEMO_COUNTED_MODELS`).
"""

import importlib
import time

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings

from aifinops.core.demo import ROLE_LOGINS, demo_password


def _counts():
    return {
        label: apps.get_model(label)._default_manager.count()
        for label in settings.AIFINOPS_DEMO_COUNTED_MODELS
    }


class Command(BaseCommand):
    help = "Load demo users, teams, models, use cases, twelve months of spend and a council. Idempotent."

    def handle(self, *args, **options):
        if settings.AIFINOPS_PROFILE == "production":
            raise CommandError("seed_demo refuses to create demo users in the production profile.")
        started = time.monotonic()
        before = _counts()
        # The demo's notifications stay in the app; their emails would go to made-up addresses.
        with (
            override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"),
            transaction.atomic(),
        ):
            for path in settings.AIFINOPS_DEMO_MODULES:
                self.stdout.write(f"Seeding {path}")
                importlib.import_module(path).seed(stdout=self.stdout)
        after = _counts()
        elapsed = time.monotonic() - started

        self.stdout.write("")
        self.stdout.write(f"{'table':<24}{'rows':>10}{'added':>10}")
        for label in settings.AIFINOPS_DEMO_COUNTED_MODELS:
            self.stdout.write(f"{label:<24}{after[label]:>10}{after[label] - before[label]:>+10}")
        added = sum(after.values()) - sum(before.values())
        summary = f"Demo data ready in {elapsed:.1f} s: {added} rows added."
        self.stdout.write(self.style.SUCCESS(summary) if added else summary + " Nothing to do.")

        password = demo_password()
        self.stdout.write("")
        self.stdout.write(f"{'username':<12}{'role':<34}password")
        for person in ROLE_LOGINS:
            roles = ", ".join(sorted(str(r) for r in person.roles))
            self.stdout.write(f"{person.username:<12}{roles:<34}{password}")
