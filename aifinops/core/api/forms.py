"""Django forms in the API: one validation for pages and endpoints, described in the schema."""

from django import forms
from rest_framework import serializers
from rest_framework.exceptions import ValidationError


def _serializer_field(field, *, required):
    """The serializer field that documents `field`. Built with its arguments in one call: DRF
    rebuilds fields from their constructor arguments, so attributes set later would be lost."""
    common = {"required": required, "help_text": str(field.help_text or field.label or "") or None}
    if not required:
        common["allow_null"] = True
    if isinstance(field, forms.ModelMultipleChoiceField):
        return serializers.ListField(child=serializers.CharField(), **common)
    if isinstance(field, forms.ModelChoiceField):
        return serializers.CharField(**common)
    if isinstance(field, forms.ChoiceField):
        return serializers.ChoiceField(choices=[c for c in field.choices if c[0] != ""], **common)
    if isinstance(field, forms.BooleanField):
        common.pop("allow_null", None)
        return serializers.BooleanField(**common)
    # DecimalField is a subclass of IntegerField in Django's forms: test it first.
    if isinstance(field, forms.DecimalField):
        return serializers.DecimalField(
            max_digits=field.max_digits, decimal_places=field.decimal_places, **common
        )
    if isinstance(field, forms.IntegerField):
        return serializers.IntegerField(min_value=field.min_value, **common)
    if isinstance(field, forms.CharField):
        return serializers.CharField(max_length=field.max_length, allow_blank=not required, **common)
    return serializers.CharField(**common)


def serializer_for_form(form_class, *, name, extra=None, required=()):
    """A serializer class that documents `form_class`'s fields for the OpenAPI schema.

    The form still does the validating: this keeps the schema from drifting from it.
    """
    fields = {
        field_name: _serializer_field(field, required=field_name in required)
        for field_name, field in form_class.base_fields.items()
    }
    fields.update(extra or {})
    return type(name, (serializers.Serializer,), fields)


def form_errors(form):
    """The form's errors as {field: [messages]}, with the form's own words."""
    return {
        ("non_field_errors" if field == "__all__" else field): [str(m) for m in messages]
        for field, messages in form.errors.items()
    }


def form_data(payload, form_class):
    """A request body as data that `form_class` can read.

    A form reads what a browser sends: text, or lists of text for a field that takes several
    values. A JSON body also brings numbers and booleans, made text here (a boolean stays one for
    a BooleanField), and objects or lists where one value is expected, which would crash the
    field's parsing: those are refused by field name. Fields the form does not declare (an
    intake's tags object, say) are left as they are, for the form to read its own way.
    """
    if hasattr(payload, "getlist"):  # a form-encoded or multipart body: already what forms read
        return payload
    data, errors = {}, {}
    for name, value in payload.items():
        field = form_class.base_fields.get(name)
        if field is None:
            data[name] = value
            continue
        several = getattr(field.widget, "allow_multiple_selected", False)
        values = value if several and isinstance(value, list) else [value]
        if any(isinstance(item, dict | list) for item in values):
            errors[name] = [
                "Expected a list of values." if several else "Expected one value, not an object or a list."
            ]
            continue
        texts = [
            item
            if item is None or isinstance(item, str) or isinstance(field, forms.BooleanField)
            else str(item)
            for item in values
        ]
        data[name] = texts if several and isinstance(value, list) else texts[0]
    if errors:
        raise ValidationError(errors)
    return data
