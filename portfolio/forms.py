"""Input of the model catalog's pages: a model's status and tier, and a price of the book.

The forms parse what a platform admin typed; `portfolio.services.prices` holds the rules (dates,
duplicates, long-context prices) and names the field in the same words on the page and in the API.
"""

from django import forms

from aifinops.core.widgets import DateInput, style_fields

from .choices import ModelStatus, ModelTier, PriceKind, PriceTier
from .models import MONEY

MAX_TOKENS = 10**15


def _price_field(label, *, required=False, help_text=""):
    return forms.DecimalField(
        label=label,
        required=required,
        min_value=0,
        max_digits=MONEY["max_digits"],
        decimal_places=MONEY["decimal_places"],
        help_text=help_text,
        widget=forms.NumberInput(attrs={"min": "0", "step": "any"}),
    )


class StyledForm(forms.Form):
    id_prefix = "catalog"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"id_{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)
        style_fields(self.fields, small=True)


class AIModelEditForm(StyledForm):
    id_prefix = "model"
    status = forms.ChoiceField(choices=ModelStatus.choices)
    tier = forms.ChoiceField(choices=ModelTier.choices)


class PriceAddForm(StyledForm):
    id_prefix = "price"
    kind = forms.ChoiceField(choices=PriceKind.choices, initial=PriceKind.NEGOTIATED)
    tier = forms.ChoiceField(choices=PriceTier.choices, initial=PriceTier.STANDARD, label="Service tier")
    effective_from = forms.DateField(label="Effective from", widget=DateInput)
    input_price_per_mtok = _price_field("Input / 1M tokens", required=True)
    output_price_per_mtok = _price_field("Output / 1M tokens", required=True)
    cache_read_price_per_mtok = _price_field("Cache read / 1M", help_text="Empty: the input price.")
    cache_write_price_per_mtok = _price_field("Cache write / 1M", help_text="Empty: the input price.")
    volume_threshold = forms.IntegerField(
        label="From monthly volume (tokens)",
        required=False,
        min_value=0,
        max_value=MAX_TOKENS,
        help_text="Empty or 0: from the first token.",
    )
    long_context_threshold = forms.IntegerField(
        label="Long context above (prompt tokens)", required=False, min_value=1, max_value=MAX_TOKENS
    )
    long_context_input_price_per_mtok = _price_field("Long-context input / 1M")
    long_context_output_price_per_mtok = _price_field("Long-context output / 1M")
    currency = forms.CharField(max_length=3, min_length=3, initial="USD")
    note = forms.CharField(max_length=250, required=False, help_text="e.g. the contract it comes from.")

    def service_values(self):
        values = dict(self.cleaned_data)
        values["volume_threshold"] = values["volume_threshold"] or 0
        values["currency"] = values["currency"].upper()
        return values
