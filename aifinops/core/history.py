"""An object's audit history in plain words: people by name, actions as sentences, fields by their
labels, choices by their labels, lists of findings as sentences. No internal code, no raw data.

Apps name their own actions (`register_actions({"intake.submit": "Submitted for review"})`, at
ready()); an action nobody named reads as its verb ("budget.update" → "Changed"). An event written
on one object about a record of another model (a gate item's attestation on its use case) names
that model (`register_records({"gate_item": GateItemState})`, by the action's noun), so the
record's fields read by their labels and its choices by theirs. Related objects are named with one
query per related model, however long the history.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.dateparse import parse_date, parse_datetime

HIDDEN = {"id", "created_at", "updated_at", "password"}
NOTHING = "—"
VERBS = {
    "create": "Created",
    "update": "Changed",
    "change": "Changed",
    "delete": "Deleted",
    "submit": "Submitted",
    "triage": "Triaged",
    "accept": "Accepted",
    "reject": "Rejected",
    "withdraw": "Withdrawn",
    "approve": "Approved",
    "move": "Moved",
    "record": "Recorded",
    "schedule": "Scheduled",
    "publish": "Published",
    "start": "Started",
    "close": "Closed",
    "cast": "Voted",
    "attest": "Attested",
}
_actions = {}
_records = {}


def register_actions(labels):
    """Name actions in plain words: {"intake.triage": "Triaged"}."""
    _actions.update(labels)


def register_records(models_by_noun):
    """Name the model whose record the events of an action's noun carry: {"gate_item": GateItemState}."""
    _records.update(models_by_noun)


def action_label(action):
    if action in _actions:
        return _actions[action]
    verb = action.rsplit(".", 1)[-1]
    return VERBS.get(verb, verb.replace("_", " ").capitalize())


@dataclass
class HistoryRow:
    created_at: datetime.datetime
    who: str
    what: str
    created: list = field(default_factory=list)  # [(label, value)] when the event made the object
    changes: list = field(default_factory=list)  # [(label, before, after)]
    removed: bool = False


def person_name(user):
    return (user.get_full_name() or user.get_username()) if user is not None else NOTHING


def _field(model, name):
    if model is None:
        return None
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def _label(model, name):
    f = _field(model, name)
    text = str(getattr(f, "verbose_name", "") or name.replace("_", " "))
    return text[:1].upper() + text[1:]


def _sentence(text):
    text = str(text).strip()
    return text if not text or text[-1] in ".!?" else f"{text}."


def _text(value):
    if value is None or value == "" or value == [] or value == {}:
        return NOTHING
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        if all(isinstance(v, dict) for v in value):
            return " ".join(_sentence(_text(v)) for v in value)
        return ", ".join(_text(v) for v in value)
    if isinstance(value, dict):
        for key in ("text", "detail", "label", "name"):
            if value.get(key):
                return str(value[key])
        return "; ".join(f"{k.replace('_', ' ')}: {_text(v)}" for k, v in value.items())
    if isinstance(value, str) and len(value) >= 10 and value[4:5] == "-":
        moment = parse_datetime(value) if "T" in value else None
        if moment is not None:
            return f"{moment:%-d %b %Y %H:%M} UTC"
        day = parse_date(value) if len(value) == 10 else None
        if day is not None:
            return f"{day:%-d %b %Y}"
    return str(value)


def _is_key(f, value):
    """Whether `value` is the primary key of a related object (as `snapshot` writes them); a record
    may name it otherwise (a gate item's "by" is a username), which then reads as it is."""
    return isinstance(f, models.ForeignKey) and isinstance(value, int) and not isinstance(value, bool)


class _Names:
    """Related objects named in one query per related model."""

    def __init__(self, model, events):
        self.model = model
        wanted = defaultdict(set)
        for event in events:
            for data in (event.before or {}, event.after or {}):
                for key, value in data.items():
                    f = _field(model, key)
                    if _is_key(f, value):
                        wanted[f.related_model].add(value)
        self.names = {}
        user_model = get_user_model()
        for related, pks in wanted.items():
            for obj in related._default_manager.filter(pk__in=pks):
                self.names[(related, obj.pk)] = person_name(obj) if related is user_model else str(obj)

    def value(self, key, value):
        f = _field(self.model, key)
        if _is_key(f, value):
            return self.names.get((f.related_model, value), NOTHING)
        if f is not None and f.choices and not isinstance(value, list | dict):
            return str(dict(f.flatchoices).get(value, _text(value))) if value not in (None, "") else NOTHING
        return _text(value)


def _record_model(event, model):
    return _records.get(event.action.split(".", 1)[0], model)


def plain_history(events, model=None):
    """[HistoryRow] of audit events on objects of `model` (their actors loaded), newest first as given."""
    by_model = defaultdict(list)
    for event in events:
        by_model[_record_model(event, model)].append(event)
    namers = {record_model: _Names(record_model, group) for record_model, group in by_model.items()}
    rows = []
    for event in events:
        record_model = _record_model(event, model)
        names = namers[record_model]
        row = HistoryRow(
            created_at=event.created_at,
            who=person_name(event.actor) if event.actor_id else "The system",
            what=action_label(event.action),
        )
        if event.before is None and event.after:
            row.created = [
                (_label(record_model, k), names.value(k, v))
                for k, v in event.after.items()
                if k not in HIDDEN and v not in (None, "", [], {})
            ]
        elif event.after is None and event.before:
            row.removed = True
        else:
            row.changes = [
                (
                    _label(record_model, k),
                    None if old in (None, "", [], {}) else names.value(k, old),
                    names.value(k, new),
                )
                for k, old, new in event.changes
                if k not in HIDDEN
            ]
        rows.append(row)
    return rows


def model_of(label_lower):
    try:
        return apps.get_model(label_lower)
    except (LookupError, ValueError):
        return None
