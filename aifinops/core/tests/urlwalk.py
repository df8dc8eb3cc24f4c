"""Every URL pattern of the project as a concrete path, for tests that walk them all."""

import re
import uuid

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

SAMPLES = {"int": "1", "slug": "sample", "str": "sample", "uuid": str(uuid.uuid4()), "path": "sample"}


def _route_to_path(route: str) -> str:
    return re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: SAMPLES.get(m.group(1) or "str", "sample"), route)


def _regex_to_path(regex: str) -> str:
    def group(match):
        body = match.group(2)
        first = body.split("|")[0]
        return first if re.fullmatch(r"[\w-]+", first) else "1"

    path = re.sub(r"\(\?P<(\w+)>((?:[^()]|\([^()]*\))*)\)", group, regex)
    path = path.lstrip("^").rstrip("$").replace("\\Z", "").replace("\\.", ".")
    # Optional format suffixes and similar: drop what is left of regex syntax.
    path = re.sub(r"\(\?:[^)]*\)\??", "", path)
    return path.replace("\\", "")


def _pattern_to_path(pattern) -> str:
    if isinstance(pattern, RoutePattern):
        return _route_to_path(str(pattern))
    if isinstance(pattern, RegexPattern):
        return _regex_to_path(pattern.regex.pattern)
    return str(pattern)


def all_paths(resolver=None, prefix="/", namespace=""):
    """[(path, name)] for every URL pattern, with sample values for its parameters.

    Names carry their namespace ("core:login"), as `reverse` spells them.
    """
    resolver = resolver or get_resolver()
    found = []
    for entry in resolver.url_patterns:
        part = _pattern_to_path(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found += all_paths(entry, prefix + part, inner)
        elif isinstance(entry, URLPattern):
            found.append((prefix + part, f"{namespace}{entry.name}" if entry.name else None))
    return found
