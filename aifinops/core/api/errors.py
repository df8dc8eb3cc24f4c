"""One error body for the whole API:

{"error": {"status": 400, "code": "invalid", "message": "...", "fields": {"name": ["..."]}}}
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ..exceptions import ConflictError, Unprocessable


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The object changed meanwhile: reload it and try again."


def _django_validation_detail(exc: DjangoValidationError):
    if hasattr(exc, "error_dict"):
        return {field: [str(m) for m in messages] for field, messages in exc.message_dict.items()}
    return {"non_field_errors": list(exc.messages)}


def exception_handler(exc, context):
    if isinstance(exc, Unprocessable):
        return error_response(
            str(exc),
            status_code=status.HTTP_422_UNPROCESSABLE_ENTITY,
            code="unprocessable",
            details=exc.details,
        )
    # Services raise Django's exceptions; the API speaks them as DRF would.
    if isinstance(exc, ConflictError):
        exc = Conflict(str(exc))
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_django_validation_detail(exc))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None

    detail = response.data
    fields = None
    if isinstance(exc, exceptions.ValidationError):
        code = "invalid"
        if isinstance(detail, dict):
            fields = detail
            message = "The request has invalid fields: " + ", ".join(sorted(map(str, detail))) + "."
        else:
            fields = {"non_field_errors": detail if isinstance(detail, list) else [detail]}
            message = "; ".join(map(str, fields["non_field_errors"]))
    else:
        code = getattr(exc, "default_code", "error")
        message = str(detail.get("detail", detail)) if isinstance(detail, dict) else str(detail)

    body = {"error": {"status": response.status_code, "code": code, "message": message}}
    if fields is not None:
        body["error"]["fields"] = fields
    response.data = body
    return response


def error_response(
    message, *, status_code=status.HTTP_400_BAD_REQUEST, code="invalid", fields=None, details=None
):
    body = {"error": {"status": status_code, "code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    if details:
        body["error"]["details"] = details
    return Response(body, status=status_code)
