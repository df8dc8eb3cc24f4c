import hashlib
import secrets

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils import timezone


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class AppendOnlyError(PermissionDenied):
    """Raised when code tries to change or remove an audit event."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Audit events are append-only: they cannot be updated.")

    def delete(self):
        raise AppendOnlyError("Audit events are append-only: they cannot be deleted.")

    def for_object(self, obj):
        return self.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))


class AuditEvent(models.Model):
    """Who did what to which object, before and after, when. Written only by services.

    Append-only three times over: this model, its admin, and (on PostgreSQL) a database trigger
    refuse UPDATE and DELETE (migration 0003).
    """

    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    # PROTECT: people who acted are deactivated, never deleted, so the trail keeps its actors.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id", "created_at"])]

    def __str__(self):
        return f"{self.actor_label or 'system'} {self.action} {self.object_repr}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Audit events are append-only: they cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit events are append-only: they cannot be deleted.")

    @property
    def changes(self):
        """Fields whose value differs between before and after, as (field, before, after)."""
        before, after = self.before or {}, self.after or {}
        # updated_at changes with every save: it says nothing a reader needs.
        keys = sorted((set(before) | set(after)) - {"updated_at"})
        return [(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]


API_TOKEN_PREFIX = "afo_"  # noqa: S105 - a visible prefix, not a secret


def hash_token(raw: str) -> str:
    # The tokens are 256-bit random strings, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(raw.encode()).hexdigest()


class HashedKey(models.Model):
    """A secret key of which only the hash is stored: the key is shown once, at creation, and a
    request's key is found by its hash (the unique index), so nothing compares keys one by one.
    API tokens and gateway keys are both one."""

    KEY_PREFIX = ""  # a visible prefix that says what the key is for
    PREFIX_LENGTH = 12  # characters of the key kept in `prefix`, to recognise it

    prefix = models.CharField(max_length=16, help_text="The first characters, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self):
        return self.revoked_at is None

    @classmethod
    def generate_key(cls) -> str:
        return cls.KEY_PREFIX + secrets.token_urlsafe(32)

    @staticmethod
    def hash_key(raw: str) -> str:
        return hash_token(raw)

    def set_key(self) -> str:
        """Give this (unsaved) row a new key; returns the key, which is not stored."""
        raw = self.generate_key()
        self.prefix = raw[: self.PREFIX_LENGTH]
        self.key_hash = hash_token(raw)
        return raw


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiToken(HashedKey):
    """A personal API token. Only its hash is stored; the key is shown once, at creation."""

    KEY_PREFIX = API_TOKEN_PREFIX

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]


class Notification(models.Model):
    """An in-app message to one person; also sent by email when it is created."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self):
        return self.subject
