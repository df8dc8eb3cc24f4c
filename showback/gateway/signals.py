"""Invalidate cached authorization policies when what they are built from changes.

Services of other apps change budgets, use cases and the model catalog without knowing about the
gateway; these receivers bump the policy versions on commit instead, so those services stay as
they are and every path that saves (forms, API, admin, imports) is covered.
"""

from django.db.models.signals import m2m_changed, post_delete, post_save

from .services import policy_version_bump


def _use_case(sender, instance, **kwargs):
    policy_version_bump(use_case_ids=[instance.pk])


def _of_use_case(sender, instance, **kwargs):
    policy_version_bump(use_case_ids=[instance.use_case_id])


def _budget(sender, instance, **kwargs):
    if instance.use_case_id is None:
        # A customer or tag cap is in every use case's policy (a team or portfolio budget has no
        # cap, but bumping for it is harmless).
        policy_version_bump(catalog=True)
    else:
        policy_version_bump(use_case_ids=[instance.use_case_id])


def _catalog(sender, instance, **kwargs):
    policy_version_bump(catalog=True)


def _rates_loaded(sender, **kwargs):
    policy_version_bump(catalog=True)


def _use_case_models(sender, instance, action, pk_set=None, reverse=False, **kwargs):
    if not action.startswith("post_"):
        return
    if reverse:
        # From the model's side: the use cases it was added to or removed from.
        policy_version_bump(catalog=True)
    else:
        policy_version_bump(use_case_ids=[instance.pk])


def connect():
    from portfolio.models import UseCase
    from portfolio.signals import model_prices_changed

    from .recost import usage_recost

    # A price in force from a past day re-costs the estimated usage it affects.
    model_prices_changed.connect(usage_recost, dispatch_uid="gw-recost")

    from ..signals import exchange_rates_loaded

    exchange_rates_loaded.connect(_rates_loaded, dispatch_uid="gw-rates-loaded")
    for name, signal in (("save", post_save), ("delete", post_delete)):
        signal.connect(_use_case, sender="portfolio.UseCase", dispatch_uid=f"gw-uc-{name}")
        signal.connect(_catalog, sender="portfolio.AIModel", dispatch_uid=f"gw-model-{name}")
        signal.connect(_catalog, sender="portfolio.PriceBookEntry", dispatch_uid=f"gw-price-{name}")
        # Every cached policy carries today's exchange rates into its caps' currencies.
        signal.connect(_catalog, sender="showback.ExchangeRate", dispatch_uid=f"gw-rate-{name}")
        signal.connect(_budget, sender="showback.Budget", dispatch_uid=f"gw-showback.Budget-{name}")
        for model in ("showback.AgentPolicy", "showback.GatewayKey"):
            signal.connect(_of_use_case, sender=model, dispatch_uid=f"gw-{model}-{name}")
    m2m_changed.connect(_use_case_models, sender=UseCase.ai_models.through, dispatch_uid="gw-uc-models")
