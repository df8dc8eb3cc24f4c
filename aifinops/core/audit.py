"""Writing audit events. Services call `audit_record` inside their own transaction."""

import datetime
import decimal
import uuid

from django.db import models, transaction
from django.db.models.fields.files import FieldFile

from .models import AuditEvent


def _json_value(value):
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, FieldFile):
        return value.name or None
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, list | tuple | set):
        return [_json_value(v) for v in value]
    return value


def snapshot(obj, fields=None):
    """The concrete field values of `obj` as JSON-safe data, for an audit event's before/after."""
    data = {}
    for field in obj._meta.concrete_fields:
        if fields is not None and field.name not in fields:
            continue
        if field.name in ("password",):
            continue
        data[field.name] = _json_value(field.value_from_object(obj))
    return data


def audit_record(*, actor, action, obj=None, object_type="", object_id="", before=None, after=None):
    """Append an audit event. Must run inside the transaction that makes the change."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must be called inside the service's transaction.")
    if obj is not None:
        object_type = obj._meta.label_lower
        object_id = str(obj.pk)
        object_repr = str(obj)[:200]
    else:
        object_repr = f"{object_type} {object_id}"
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    return AuditEvent.objects.create(
        actor=actor if is_user else None,
        actor_label=actor.get_username() if is_user else "system",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        object_repr=object_repr,
        before=before,
        after=after,
    )
