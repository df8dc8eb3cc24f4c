"""CSV writers of chargeback: the FOCUS 1.2 and 1.3 exports of attributed spend and the team
statement.

FOCUS 1.3 adds ServiceProviderName and HostProviderName (mandatory; ProviderName and PublisherName
stay, deprecated), the allocation columns (a row attributed to a use case is allocated to it: the
method is the attribution rule or tag that did it) and the commitment columns (CommitmentDiscount*
and ContractApplied, passed on from the bill rows that carried them).

Both stream: rows are written as they are read, so memory stays flat however large the month.
Text cells are escaped against formula injection; numeric cells are written as numbers, so a
credit stays a negative number a spreadsheet can add up.
"""

import datetime
import json
from decimal import Decimal

from aifinops.core.spreadsheet import csv_response, safe_text

from .. import fx

# Mandatory in FOCUS 1.2, in the order of the column list of the specification.
FOCUS_MANDATORY_COLUMNS = [
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
    "ServiceName",
]
FOCUS_OPTIONAL_COLUMNS = [
    "ChargeFrequency",
    "ConsumedQuantity",
    "ConsumedUnit",
    "InvoiceId",
    "ResourceId",
    "ResourceName",
    "ServiceSubcategory",
    "SkuId",
    "SkuMeter",
    "SubAccountId",
    "SubAccountName",
    "Tags",
]
FOCUS_CUSTOM_COLUMNS = ["x_TokenType", "x_SourceSystem", "x_SourceRecordKey"]
# Appended last, after every column readers of earlier exports know: the row's costs in the
# organisation's reporting currency at the rate in force on its charge day, that rate (1 where the
# row is in the reporting currency already) and the date it took effect; where no rate is
# recorded the amounts and rate stay empty and x_ReportingRateMissing names the currency and day.
FOCUS_REPORTING_COLUMNS = [
    "x_ReportingCurrency",
    "x_ReportingBilledCost",
    "x_ReportingEffectiveCost",
    "x_ReportingRate",
    "x_ReportingRateDate",
    "x_ReportingRateMissing",
]
FOCUS_COLUMNS = [
    *FOCUS_MANDATORY_COLUMNS,
    *FOCUS_OPTIONAL_COLUMNS,
    *FOCUS_CUSTOM_COLUMNS,
    *FOCUS_REPORTING_COLUMNS,
]
# FOCUS 1.3: its mandatory columns in the order of the specification's column list.
FOCUS_13_MANDATORY_COLUMNS = sorted([*FOCUS_MANDATORY_COLUMNS, "HostProviderName", "ServiceProviderName"])
FOCUS_13_COMMITMENT_COLUMNS = [
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountQuantity",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "CommitmentDiscountUnit",
    "ContractApplied",
]
FOCUS_13_ALLOCATION_COLUMNS = [
    "AllocatedMethodDetails",
    "AllocatedMethodId",
    "AllocatedResourceId",
    "AllocatedResourceName",
    "AllocatedTags",
]
FOCUS_13_OPTIONAL_COLUMNS = sorted(
    [
        *FOCUS_OPTIONAL_COLUMNS,
        "ProviderName",
        "PublisherName",
        *FOCUS_13_COMMITMENT_COLUMNS,
        *FOCUS_13_ALLOCATION_COLUMNS,
    ]
)
FOCUS_13_COLUMNS = [
    *(c for c in FOCUS_13_MANDATORY_COLUMNS if c not in ("ProviderName", "PublisherName")),
    *FOCUS_13_OPTIONAL_COLUMNS,
    *FOCUS_CUSTOM_COLUMNS,
    *FOCUS_REPORTING_COLUMNS,
]
FOCUS_VERSIONS = {"1.2": FOCUS_COLUMNS, "1.3": FOCUS_13_COLUMNS}
FOCUS_NUMERIC_COLUMNS = frozenset(
    {
        "BilledCost",
        "ContractedCost",
        "EffectiveCost",
        "ListCost",
        "PricingQuantity",
        "ConsumedQuantity",
        "CommitmentDiscountQuantity",
        "x_ReportingBilledCost",
        "x_ReportingEffectiveCost",
        "x_ReportingRate",
    }
)

AI_SERVICE_CATEGORY = "AI and Machine Learning"
DEFAULT_BILLING_ACCOUNT = "aifinops"


def number(value):
    """A Decimal as plain digits with a decimal point, never an exponent: "-1.5", "0.0", "1200.0".

    The point keeps a column of whole numbers (token counts) typed as decimal by CSV readers.
    """
    if value is None:
        return ""
    text = format(Decimal(value), "f")
    if "." in text:
        text = text.rstrip("0")
    else:
        text += "."
    return text + "0" if text.endswith(".") else text


def iso_utc(moment):
    if isinstance(moment, datetime.datetime):
        return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{moment.isoformat()}T00:00:00Z"


def _charge(record):
    """(ChargeCategory, PricingQuantity, PricingUnit, ConsumedQuantity, ConsumedUnit).

    Negative billed cost is a credit, which FOCUS prices and consumes nothing for.
    """
    if record.billed_cost < 0:
        return "Credit", None, "", None, ""
    tokens = record.input_tokens + record.cached_tokens + record.output_tokens
    if tokens:
        return "Usage", Decimal(tokens), "Tokens", Decimal(tokens), "Tokens"
    if record.unit and record.quantity:
        return "Usage", record.quantity, record.unit, record.quantity, record.unit
    return "Usage", Decimal(record.requests), "Requests", Decimal(record.requests), "Requests"


def _invoice_id(record, month):
    """The provider's invoice where the source named it, else the team's chargeback statement."""
    extras = record.raw_extras if isinstance(record.raw_extras, dict) else {}
    return str(extras.get("InvoiceId") or "").strip() or f"chargeback-{record.team.slug}-{month:%Y-%m}"


def _json_object(text):
    """A JSON object as compact text, or "" when `text` is not one (a cell FOCUS types as JSON)."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return ""
    return json.dumps(value, sort_keys=True) if isinstance(value, dict) else ""


def _focus_13_values(record, extras, provider, tags):
    """The cells FOCUS 1.3 adds: providers, commitments passed on from the bill, allocation."""
    host = str(extras.get("HostProviderName") or extras.get("PublisherName") or provider)
    values = {"ServiceProviderName": provider, "HostProviderName": host}
    for column in FOCUS_13_COMMITMENT_COLUMNS:
        values[column] = str(extras.get(column) or "")
    values["ContractApplied"] = _json_object(extras.get("ContractApplied"))
    quantity = values["CommitmentDiscountQuantity"]
    try:
        values["CommitmentDiscountQuantity"] = Decimal(quantity) if quantity else None
    except ArithmeticError:
        values["CommitmentDiscountQuantity"] = None
    if record.use_case_id:
        values.update(
            AllocatedMethodId=record.attributed_by or "source-tags",
            AllocatedMethodDetails="",
            AllocatedResourceId=record.use_case.key,
            AllocatedResourceName=record.use_case.name,
            AllocatedTags=json.dumps(tags, sort_keys=True),
        )
    else:
        values.update(dict.fromkeys(FOCUS_13_ALLOCATION_COLUMNS, ""))
    return values


def _reporting_values(record, rates):
    """The x_Reporting* cells of a record, at the rate of `rates` (fx.RateTable) on its charge day."""
    day = record.charge_period_start.astimezone(datetime.UTC).date()
    rate = rates.rate(record.currency, day)
    values = {"x_ReportingCurrency": rates.into}
    if rate is None:
        missing = fx.MissingRate(record.currency, rates.into, record.effective_cost, day, day, 1)
        return {
            **values,
            "x_ReportingBilledCost": None,
            "x_ReportingEffectiveCost": None,
            "x_ReportingRate": None,
            "x_ReportingRateDate": "",
            "x_ReportingRateMissing": str(missing),
        }
    same = record.currency == rates.into
    return {
        **values,
        "x_ReportingBilledCost": (record.billed_cost * rate.rate).quantize(fx.MICRO),
        "x_ReportingEffectiveCost": (record.effective_cost * rate.rate).quantize(fx.MICRO),
        "x_ReportingRate": rate.rate.quantize(fx.MIN_RATE),
        "x_ReportingRateDate": "" if same else rate.valid_from.isoformat(),
        "x_ReportingRateMissing": "",
    }


def focus_row(record, *, billing_period, rates, version="1.2"):
    """One SpendRecord as the list of cells of a FOCUS row of `version` (1.2 or 1.3), in the
    order of FOCUS_VERSIONS[version]; `rates` (fx.RateTable into the reporting currency) gives the
    reporting cells."""
    provider = (record.provider.name if record.provider else "") or record.provider_name or "Unknown"
    model = (record.model.key if record.model else "") or record.model_name
    category, pricing_quantity, pricing_unit, consumed_quantity, consumed_unit = _charge(record)
    token_type = record.token_type or ""
    token_words = token_type.replace("_", " ")
    description = " ".join(part for part in (model, token_words, "tokens" if token_type else "") if part)
    tags = {"team": record.team.slug}
    if record.use_case_id:
        tags["ai-use-case"] = record.use_case.key
    if record.environment:
        tags["environment"] = record.environment
    values = {
        "BilledCost": record.billed_cost,
        "BillingAccountId": record.billing_account or DEFAULT_BILLING_ACCOUNT,
        "BillingAccountName": record.billing_account or "",
        "BillingCurrency": record.currency,
        "BillingPeriodEnd": iso_utc(billing_period[1]),
        "BillingPeriodStart": iso_utc(billing_period[0]),
        "ChargeCategory": category,
        "ChargeClass": "",
        "ChargeDescription": description or f"{provider} AI usage",
        "ChargePeriodEnd": iso_utc(record.charge_period_end),
        "ChargePeriodStart": iso_utc(record.charge_period_start),
        "ContractedCost": record.effective_cost,
        "EffectiveCost": record.effective_cost,
        "InvoiceIssuerName": provider,
        "ListCost": record.list_cost,
        "PricingQuantity": pricing_quantity,
        "PricingUnit": pricing_unit,
        "ProviderName": provider,
        "PublisherName": provider,
        "ServiceCategory": AI_SERVICE_CATEGORY,
        "ServiceName": record.service_name or provider,
        "ChargeFrequency": "Usage-Based",
        "ConsumedQuantity": consumed_quantity,
        "ConsumedUnit": consumed_unit,
        "InvoiceId": _invoice_id(record, billing_period[0]),
        "ResourceId": model if category == "Usage" else "",
        "ResourceName": model if category == "Usage" else "",
        "ServiceSubcategory": "Generative AI",
        "SkuId": f"{model}:{token_type}" if model and token_type and category == "Usage" else "",
        "SkuMeter": f"{token_words.capitalize()} tokens" if token_type and category == "Usage" else "",
        "SubAccountId": record.team.slug,
        "SubAccountName": record.team.name,
        "Tags": json.dumps(tags, sort_keys=True),
        "x_TokenType": token_type,
        "x_SourceSystem": record.source,
        "x_SourceRecordKey": record.source_row_key,
    }
    values.update(_reporting_values(record, rates))
    if version == "1.3":
        extras = record.raw_extras if isinstance(record.raw_extras, dict) else {}
        values.update(_focus_13_values(record, extras, provider, tags))
    return [
        number(values[column]) if column in FOCUS_NUMERIC_COLUMNS else safe_text(values[column])
        for column in FOCUS_VERSIONS[version]
    ]


def focus_csv_response(rows, *, filename, version="1.2"):
    """A streamed FOCUS CSV of `version` of rows from `chargeback.focus_export_rows`."""
    return csv_response(FOCUS_VERSIONS[version], rows, filename=filename)


STATEMENT_COLUMNS = [
    "section",
    "team",
    "month",
    "use_case_key",
    "use_case",
    "provider",
    "model",
    "currency",
    "billed_cost",
    "effective_cost",
    "estimated_cost",
    "share_pct",
    "input_tokens",
    "cached_tokens",
    "output_tokens",
    "requests",
    # The effective cost in the organisation's reporting currency, each day at the rate in force
    # that day; the rate is the line's effective one (reporting / original) and the date the latest
    # rate used. Empty amount and rate where a day of the line has no rate: never counted at 1.
    "reporting_effective_cost",
    "reporting_currency",
    "reporting_rate",
    "reporting_rate_date",
    # Appended after the columns above so their readers keep working: the rates the line lacks
    # (currency and days), where its reporting amount is left empty.
    "reporting_missing_rate",
]


def statement_rows(statement):
    """A team statement as CSV rows: use-case lines, provider/model lines, then totals."""
    team, month = statement["team"], statement["month"].strftime("%Y-%m")
    reporting_currency = statement["reporting"].currency

    def row(section, line, *, use_case_key="", use_case="", provider="", model=""):
        text = [section, team.slug, month, use_case_key, use_case, provider, model, line["currency"]]
        numbers = [line["billed"], line["effective"], line["estimated"], line.get("share")]
        counts = [line["input_tokens"], line["cached_tokens"], line["output_tokens"], line["requests"]]
        conv = line.get("reporting") or {}
        rate_date = conv.get("rate_date")
        reporting = [
            number(conv.get("amount")),
            reporting_currency,
            number(conv.get("rate")),
            rate_date.isoformat() if rate_date else "",
            safe_text("; ".join(str(m) for m in conv.get("missing_rates", ()))),
        ]
        return (
            [safe_text(v) for v in text] + [number(v) for v in numbers] + [str(v) for v in counts] + reporting
        )

    for line in statement["by_use_case"]:
        yield row("use_case", line, use_case_key=line["key"] or "", use_case=line["name"])
    for line in statement["by_model"]:
        yield row("model", line, provider=line["provider"], model=line["model"])
    for currency, total in statement["totals"].items():
        yield row("total", {**total, "currency": currency, "share": Decimal(100)})


def statement_csv_response(statement):
    filename = f"chargeback-{statement['team'].slug}-{statement['month']:%Y-%m}.csv"
    return csv_response(STATEMENT_COLUMNS, statement_rows(statement), filename=filename)
