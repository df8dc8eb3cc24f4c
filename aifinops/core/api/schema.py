"""The error answers every operation can give, added to the OpenAPI schema.

drf-spectacular documents the success of each operation. Every endpoint can also answer 401, 403,
404 (an object that does not exist or is not visible to the caller, or a page past the last) and
429 (throttled); 400 when it takes a body or query parameters or writes; 409 when it writes (a
state that does not allow it, a lost race); 415 when it takes a body. All use the one error body
of `aifinops.core.api.errors`. Documenting them lets a client, and the API fuzzing test, check
those answers against the schema like any other.
"""

ERROR_SCHEMA = {
    "type": "object",
    "description": "The error body of every API error.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "status": {"type": "integer", "description": "The HTTP status, repeated."},
                "code": {"type": "string", "description": "invalid, not_found, permission_denied…"},
                "message": {"type": "string", "description": "What went wrong, for a person."},
                "fields": {
                    "type": "object",
                    "additionalProperties": {},
                    "description": "The invalid fields and what is wrong with each (400 only).",
                },
                "details": {"description": "More about the error, as the operation documents it."},
            },
            "required": ["status", "code", "message"],
        }
    },
    "required": ["error"],
}
ALWAYS = {
    "401": "No valid token (Authorization: Token <key>) or session.",
    "403": "Not allowed: your roles or team do not cover this.",
    "404": "No such object, or not one you may see; or a page past the last.",
    "429": "Too many requests: wait and retry.",
}
INVALID = "Invalid body or query parameters, named in error.fields; or not possible as asked."
UNSUPPORTED = "The body's content type is not one the operation reads (JSON, form, multipart)."
CONFLICT = "The object is not in a state that allows this, or it changed meanwhile: reload it."
METHODS = {"get", "post", "put", "patch", "delete"}
WRITES = {"post", "put", "patch", "delete"}


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    body = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for methods in result.get("paths", {}).values():
        for method, operation in methods.items():
            if method not in METHODS:
                continue
            errors = dict(ALWAYS)
            takes_input = "requestBody" in operation or any(
                parameter.get("in") == "query" for parameter in operation.get("parameters", [])
            )
            if takes_input or method in WRITES:
                errors["400"] = INVALID
            if method in WRITES:
                errors["409"] = CONFLICT
            if "requestBody" in operation:
                errors["415"] = UNSUPPORTED
            responses = operation.setdefault("responses", {})
            for status, description in errors.items():
                responses.setdefault(status, {"description": description})
            for status, response in responses.items():
                if status[:1] in "45":
                    response.setdefault("content", body)
    return result
