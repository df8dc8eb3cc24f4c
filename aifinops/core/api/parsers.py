"""The API's JSON parsers: what a caller sends is checked before any view, form or service sees it.

JSON can carry what no field of this product can hold, and what Python's own parser turns into a
crash rather than an error: nesting deep enough to exhaust the recursion limit, a lone UTF-16
surrogate (`"\\ud800"`, which no UTF-8 text can hold: PostgreSQL and the JSON renderer both fail
on it), and NUL (`"\\u0000"`, which PostgreSQL refuses in text and in jsonb). All three are
refused here, once for every endpoint, with a 400 that names the limit or the field.
"""

import codecs
import json
import re

from django.conf import settings
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32

# A JSON string (escapes included), or a run of characters that are neither brackets nor quotes.
_STRINGS_AND_FILLER = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[^\[\]{}"]+', re.DOTALL)
_BRACKETS = str.maketrans({"[": "(", "{": "(", "]": ")", "}": ")", '"': None})
# Escapes that decode to NUL or to a surrogate (paired surrogates are fine and checked below).
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def too_deep(text: str, limit: int = MAX_DEPTH) -> bool:
    """Whether the JSON text nests objects and arrays deeper than `limit`, without parsing it
    (Python's parser would recurse once per level). Runs at C speed: regular expressions strip the
    strings, then each pass removes the innermost empty pairs."""
    if text.count("[") + text.count("{") <= limit:
        return False
    brackets = _STRINGS_AND_FILLER.sub("", text).translate(_BRACKETS)
    for _ in range(limit):
        shorter = brackets.replace("()", "")
        if shorter == brackets:
            break
        brackets = shorter
    # What is left after `limit` passes is nested deeper, or is unbalanced (left to the parser,
    # unless it opens more levels than the limit: the parser would recurse through those too).
    return "()" in brackets or brackets.count("(") > limit


def text_problem(value: str) -> str | None:
    """Why a text cannot be stored, or None."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "Contains a NUL character (\\u0000), which cannot be stored."
    return "Contains a lone UTF-16 surrogate (e.g. \\ud800), which is not a character: send valid Unicode."


def _path(parent: str, key) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else str(key)


def unstorable_fields(data, limit: int = 20) -> dict:
    """{path: [message]} for each string (key or value) in `data` that cannot be stored, e.g.
    `name` or `events[3].run_id`; at most `limit` of them."""
    problems = {}
    stack = [("", data)]
    while stack and len(problems) < limit:
        path, value = stack.pop()
        if isinstance(value, str):
            message = text_problem(value)
            if message:
                problems[path or "non_field_errors"] = [message]
        elif isinstance(value, dict):
            for key, item in value.items():
                message = text_problem(key)
                if message:
                    problems[_path(path, ascii(key)[1:-1])] = ["The field name: " + message]
                else:
                    stack.append((_path(path, key), item))
        elif isinstance(value, list):
            stack.extend((_path(path, i), item) for i, item in enumerate(value))
    return problems


def _refuse_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def json_loads_checked(text: str):
    """`json.loads`, with nesting deeper than MAX_DEPTH a ParseError and unstorable strings a
    ValidationError naming their fields; other malformed JSON is a ParseError as before."""
    if too_deep(text):
        raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels, the limit.")
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"JSON parse error - {exc}") from exc
    if _SUSPECT_ESCAPE.search(text):
        problems = unstorable_fields(data)
        if problems:
            raise ValidationError(problems)
    return data


class CheckedJSONParser(JSONParser):
    """DRF's JSONParser, with the checks of `json_loads_checked`: a body of any JSON type."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
        except (ValueError, UnicodeError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        return json_loads_checked(text)


class JSONObjectParser(CheckedJSONParser):
    """JSON whose top level is an object, as every request body of this API is.

    Another JSON value (a list, a number, `false`) would otherwise reach the views and forms as
    `request.data`, which they read as a mapping: a 500 instead of a 400 that says what to send.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        if not isinstance(data, dict):
            raise ParseError('The body must be a JSON object, such as {"note": "…"}.')
        return data
