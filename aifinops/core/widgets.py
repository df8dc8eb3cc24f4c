from django import forms


class DropdownMultiple(forms.Select):
    """A one-line dropdown that still reads repeated parameters (?stage=pilot&stage=launch).

    The page offers one value at a time with an "Any" choice; the API and links can ask for
    several. Blank values are dropped, so "Any" means no filter.
    """

    allow_multiple_selected = True

    def __init__(self, attrs=None, choices=(), any_label="Any"):
        super().__init__(attrs, choices)
        self.any_label = any_label

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"].pop("multiple", None)
        return context

    def optgroups(self, name, value, attrs=None):
        groups = super().optgroups(name, value, attrs)
        selected = not any(v for v in (value or []) if v)
        blank = self.create_option(name, "", self.any_label, selected, 0)
        return [(None, [blank], 0), *groups]

    def value_from_datadict(self, data, files, name):
        values = data.getlist(name) if hasattr(data, "getlist") else data.get(name)
        if isinstance(values, str):
            values = [values]
        return [v for v in values or [] if v]

    def value_omitted_from_data(self, data, files, name):
        return False


class DateInput(forms.DateInput):
    """A browser date picker; its value is always ISO (YYYY-MM-DD), whatever the locale."""

    input_type = "date"

    def format_value(self, value):
        if hasattr(value, "strftime"):
            return value.strftime("%Y-%m-%d")
        return value


class MonthInput(forms.DateInput):
    """A browser month picker (YYYY-MM); the field reads it with input_formats=["%Y-%m", ...]."""

    input_type = "month"

    def format_value(self, value):
        if hasattr(value, "strftime"):
            return value.strftime("%Y-%m")
        return value


def style_fields(fields, *, small=False):
    """Give each field's widget its Bootstrap class (kept if the widget already sets one)."""
    for field in fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput | forms.RadioSelect):
            css = "form-check-input"
        elif isinstance(widget, forms.Select):
            css = "form-select form-select-sm" if small else "form-select"
        else:
            css = "form-control form-control-sm" if small else "form-control"
        widget.attrs.setdefault("class", css)


def label_empty_choices(fields, labels):
    """Say what a dropdown's empty choice means ("No team", "Any provider", "Choose a model…") in
    place of Django's "---------": {field name: label}. One way for every form, model choices
    (their `empty_label`) and plain choices (the choice whose value is empty) alike."""
    for name, label in labels.items():
        field = fields[name]
        if isinstance(field, forms.ModelChoiceField):
            field.empty_label = label
        else:
            field.choices = [("", label), *(choice for choice in field.choices if choice[0] != "")]
