"""The tag schema applied to values: which tags break it, and how."""

from .models import TagAppliesTo, TagKey


def tag_keys_for_use_cases():
    return list(TagKey.objects.filter(applies_to__in=[TagAppliesTo.USE_CASE, TagAppliesTo.BOTH]))


def tag_problems(tags, tag_keys):
    """{key: message} for tags that break the schema."""
    problems = {}
    for tag_key in tag_keys:
        message = tag_key.check_value((tags or {}).get(tag_key.key))
        if message:
            problems[tag_key.key] = message
    known = {t.key for t in tag_keys}
    for key in tags or {}:
        if key not in known:
            problems[key] = f"“{key}” is not a key of the tag schema."
    return problems
