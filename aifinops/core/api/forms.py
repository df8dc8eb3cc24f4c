"""Django forms in the API: one validation for pages and endpoints, described in the schema."""

from django import forms
from rest_framework import serializers

_FIELD_MAP = [
    (forms.ModelMultipleChoiceField, lambda f: serializers.ListField(child=serializers.CharField())),
    (forms.ModelChoiceField, lambda f: serializers.CharField()),
    (forms.TypedChoiceField, lambda f: serializers.ChoiceField(choices=list(f.choices))),
    (forms.ChoiceField, lambda f: serializers.ChoiceField(choices=[c for c in f.choices if c[0] != ""])),
    (forms.BooleanField, lambda f: serializers.BooleanField()),
    (forms.IntegerField, lambda f: serializers.IntegerField(min_value=f.min_value)),
    (
        forms.DecimalField,
        lambda f: serializers.DecimalField(max_digits=f.max_digits, decimal_places=f.decimal_places),
    ),
    (forms.CharField, lambda f: serializers.CharField(max_length=f.max_length, allow_blank=True)),
]


def serializer_for_form(form_class, *, name, extra=None, required=()):
    """A serializer class that documents `form_class`'s fields for the OpenAPI schema.

    The form still does the validating: this keeps the schema from drifting from it.
    """
    fields = {}
    for field_name, field in form_class.base_fields.items():
        for form_type, make in _FIELD_MAP:
            if isinstance(field, form_type):
                serializer_field = make(field)
                break
        else:
            serializer_field = serializers.CharField()
        serializer_field.required = field_name in required
        serializer_field.help_text = str(field.help_text or field.label or "") or None
        if not serializer_field.required and not isinstance(serializer_field, serializers.BooleanField):
            serializer_field.allow_null = True
        fields[field_name] = serializer_field
    fields.update(extra or {})
    return type(name, (serializers.Serializer,), fields)


def form_errors(form):
    """The form's errors as {field: [messages]}, with the form's own words."""
    return {
        ("non_field_errors" if field == "__all__" else field): [str(m) for m in messages]
        for field, messages in form.errors.items()
    }
