from django import forms

from ..currencies import ISO_4217

MAX_UPLOAD_BYTES = 5 * 1024 * 1024


class ExchangeRateUploadForm(forms.Form):
    file = forms.FileField(
        help_text="A CSV with the columns date, base, quote, rate (one row a pair a day).",
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ".csv,text/csv"}),
    )
    source = forms.CharField(
        max_length=100,
        help_text="Where the rates come from, e.g. ECB reference rates.",
        strip=True,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError("The file is larger than 5 MB: split it by year.")
        return upload

    def clean_source(self):
        value = self.cleaned_data["source"]
        if "\x00" in value or any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
            raise forms.ValidationError("The source holds a NUL or an unpaired surrogate.")
        return value


class ReportingCurrencyForm(forms.Form):
    code = forms.ChoiceField(
        label="Reporting currency",
        choices=[(c, c) for c in sorted(ISO_4217)],
        widget=forms.Select(attrs={"class": "form-select"}),
        help_text="Totals across currencies are converted into it, by the rate of each day.",
    )


REQUIRED = ("date", "base", "quote", "rate")


def rate_rows_from_csv(upload):
    """([{date, base, quote, rate}], [line]) of an uploaded CSV; a header without the four columns,
    or a file that is not CSV text, raises forms.ValidationError naming the line."""
    from aifinops.core.spreadsheet import CsvUploadError, csv_upload_records

    from ..fx import MAX_BATCH_ROWS

    try:
        header, records = csv_upload_records(
            upload,
            empty_hint="it needs a header (date, base, quote, rate) and one row a pair a day.",
            encoding_hint="save it as CSV UTF-8.",
        )
        names = [h.strip().lower() for h in header]
        missing = [c for c in REQUIRED if c not in names]
        if missing:
            raise forms.ValidationError(
                f"Line 1: the header lacks {', '.join(missing)}; it needs date, base, quote, rate."
            )
        index = {name: names.index(name) for name in REQUIRED}
        rows, lines = [], []
        for line, cells in records:
            if len(rows) >= MAX_BATCH_ROWS:
                raise forms.ValidationError(f"The file has more than {MAX_BATCH_ROWS:,} rates: split it.")
            rows.append({name: cells[i] if i < len(cells) else "" for name, i in index.items()})
            lines.append(line)
    except CsvUploadError as exc:
        raise forms.ValidationError(str(exc)) from None
    if not rows:
        raise forms.ValidationError("The file has a header but no rates.")
    return rows, lines
