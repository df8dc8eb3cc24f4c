"""Attribution: which use case, team, environment, customer and feature a spend row belongs to.

Finance's rules apply first, in priority order; for each thing a row can be assigned, the first
matching rule that assigns it decides. Then the built-in tag convention fills what is still open:
an `ai-use-case` tag (or `use_case`, ...) names the use case, a `team` tag the team, an
`environment` tag the environment, a `customer` tag or a LiteLLM end user the customer. A use
case brings its team and environment. Tag keys are compared lower-cased with stray spaces
removed, so `AI-Use-Case ` and `ai-use-case` are the same key.
"""

from dataclasses import dataclass, field

from portfolio.models import Team, UseCase

from ..models import AttributionRule, MatchField

USE_CASE_KEYS = ("ai-use-case", "ai_use_case", "use_case", "use-case", "usecase")
TEAM_KEYS = ("team", "ai-team", "litellm.team_alias")
ENVIRONMENT_KEYS = ("environment", "env")
CUSTOMER_KEYS = ("customer", "customer-id", "litellm.end_user", "end_user")
FEATURE_KEYS = ("feature", "ai-feature")
ENVIRONMENTS = {"development", "staging", "production"}


def normalise_tags(tags):
    return {str(k).strip().lower(): ("" if v is None else str(v).strip()) for k, v in (tags or {}).items()}


def _first(tags, keys):
    for key in keys:
        if tags.get(key):
            return tags[key]
    return ""


def _matches(pattern, value):
    if not value:
        return False
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return value == pattern


@dataclass
class Facts:
    """The fields of a spend row that rules look at."""

    tags: dict
    sub_account: str = ""
    billing_account: str = ""
    api_key: str = ""
    service: str = ""
    provider: str = ""

    @classmethod
    def of(cls, row):
        """The facts of a spend row: an importer's CanonicalRow or a stored SpendRecord."""
        return cls(
            tags=normalise_tags(row.tags),
            sub_account=row.sub_account,
            billing_account=row.billing_account,
            api_key=row.api_key,
            service=row.service_name,
            provider=row.provider_name,
        )

    def value(self, rule):
        if rule.match_field == MatchField.TAG:
            return self.tags.get(rule.match_key.strip().lower(), "")
        return getattr(self, rule.match_field, "")


@dataclass
class Attribution:
    use_case: UseCase | None = None
    team: Team | None = None
    environment: str = ""
    customer: str = ""
    feature: str = ""
    by: list = field(default_factory=list)

    @property
    def source(self):
        return ",".join(self.by)[:64]

    def record_fields(self):
        """The SpendRecord fields this attribution sets, cut to their columns' lengths."""
        return {
            "use_case_id": self.use_case.pk if self.use_case else None,
            "team_id": self.team.pk if self.team else None,
            "environment": self.environment[:16],
            "customer": self.customer[:150],
            "feature": self.feature[:150],
            "attributed_by": self.source,
        }


class Attributor:
    """Loads the rules, use cases and teams once, then attributes any number of rows."""

    def __init__(self):
        self.rules = list(
            AttributionRule.objects.filter(enabled=True).select_related("use_case__team", "team")
        )
        self.use_cases = {uc.key: uc for uc in UseCase.objects.select_related("team")}
        self.teams = {t.slug: t for t in Team.objects.all()}

    def attribute(self, facts: Facts) -> Attribution:
        result = Attribution()
        for rule in self.rules:
            if not _matches(rule.match_value, facts.value(rule)):
                continue
            applied = False
            if rule.use_case and result.use_case is None:
                result.use_case, applied = rule.use_case, True
            if rule.team and result.team is None:
                result.team, applied = rule.team, True
            for name in ("environment", "customer", "feature"):
                if getattr(rule, name) and not getattr(result, name):
                    setattr(result, name, getattr(rule, name))
                    applied = True
            if applied:
                result.by.append(f"rule:{rule.pk}")

        tags = facts.tags
        if result.use_case is None and _first(tags, USE_CASE_KEYS) in self.use_cases:
            result.use_case = self.use_cases[_first(tags, USE_CASE_KEYS)]
            result.by.append("tag:use_case")
        if result.team is None:
            team = self.teams.get(_first(tags, TEAM_KEYS))
            if result.use_case is not None:
                team = result.use_case.team
            if team is not None:
                result.team = team
                result.by.append("tag:team" if result.use_case is None else "use_case")
        if not result.environment:
            env = _first(tags, ENVIRONMENT_KEYS).lower()
            result.environment = (
                env if env in ENVIRONMENTS else (result.use_case.environment if result.use_case else "")
            )
        result.customer = result.customer or _first(tags, CUSTOMER_KEYS)
        result.feature = result.feature or _first(tags, FEATURE_KEYS)
        return result
