"""Load the curated model catalog and, with --prices, refresh prices from a LiteLLM price file.

Safe to run again: rows that already match are left alone and write no audit event.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from portfolio.services import model_catalog_curated, model_catalog_load, model_prices_refresh


class Command(BaseCommand):
    help = (
        "Load the curated model catalog (providers, models, tiers, statuses, list prices) and, with "
        "--prices, refresh the catalog's prices from a LiteLLM-format price file. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--prices",
            metavar="PATH",
            help="A LiteLLM price file (model_prices_and_context_window.json) to refresh prices from.",
        )

    def handle(self, *args, prices=None, **options):
        try:
            # One transaction: a bad price file leaves the catalog as it was.
            with transaction.atomic():
                # With a price file, the file prices the models already in the catalog: loading the
                # curated prices first would undo the last refresh on every run.
                loaded = model_catalog_load(
                    actor=None, data=model_catalog_curated(), keep_prices=bool(prices)
                )
                refreshed = model_prices_refresh(actor=None, path_or_data=prices) if prices else None
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc

        self.stdout.write(
            f"Model catalog: providers {loaded['providers_created']} created, "
            f"{loaded['providers_updated']} updated, {loaded['providers_unchanged']} unchanged; "
            f"models {loaded['models_created']} created, {loaded['models_updated']} updated, "
            f"{loaded['models_unchanged']} unchanged."
        )
        if refreshed is not None:
            unmatched = refreshed["unmatched_catalog_models"]
            self.stdout.write(
                f"Prices from {prices}: {refreshed['matched']} models matched, {refreshed['updated']} "
                f"updated, {refreshed['unchanged']} unchanged; {len(unmatched)} not in the file"
                + (f" ({', '.join(unmatched)})." if unmatched else ".")
            )
