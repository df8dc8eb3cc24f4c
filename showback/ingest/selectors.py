"""Reads of spend imports."""

from collections import defaultdict
from decimal import Decimal

from django.db.models import BooleanField, Case, Count, Q, Sum, TextField, Value, When
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, Lower, Trim
from django.shortcuts import get_object_or_404

from ..models import ImportBatch, SpendRecord


def import_list(*, limit=50):
    return list(ImportBatch.objects.select_related("created_by").order_by("-created_at", "-id")[:limit])


def import_get(*, pk):
    return get_object_or_404(ImportBatch.objects.select_related("created_by"), pk=pk)


ZERO = Decimal("0")
# What a FOCUS charge category means for the gap between billed, effective and list cost.
CHARGE_EXPLANATIONS = {
    "usage": "Usage",
    "purchase": "Purchases (commitments bought: billed now, spread over the usage they cover)",
    "credit": "Credits and refunds",
    "adjustment": "Adjustments",
    "tax": "Taxes",
    "": "Charge category not stated",
}
CHARGE_ORDER = ("usage", "purchase", "credit", "adjustment", "tax", "")


def _figures():
    return {"rows": 0, "billed": ZERO, "effective": ZERO, "listed": ZERO}


def _add(target, r):
    target["rows"] += r["rows"]
    target["billed"] += r["billed"] or ZERO
    target["effective"] += r["effective"] or ZERO
    target["listed"] += r["listed"] or ZERO


def import_summary(*, batch):
    """What an import became, per currency, from its own rows in one query: {currency: {all, ai,
    non_ai, attributed, unattributed, by_charge: [{category, label, corrections, rows, billed,
    effective, listed}], billed_minus_effective, list_minus_effective, discounts}}.

    Attributed means a use case or a team owns the row. The charge categories explain the gaps:
    billed minus effective is mostly commitments bought (billed at purchase, spread over usage);
    list minus effective is what discounts and commitments saved.
    """
    category = Lower(
        Coalesce(Trim(KeyTextTransform("ChargeCategory", "raw_extras")), Value(""), output_field=TextField())
    )
    correction = Q(raw_extras__ChargeClass__iexact="Correction")
    rows = (
        SpendRecord.objects.filter(import_batch=batch)
        .annotate(
            charge=category,
            owned=Case(
                When(Q(use_case__isnull=False) | Q(team__isnull=False), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
        )
        .values("currency", "is_ai", "owned", "charge")
        .annotate(
            rows=Count("id"),
            billed=Sum("billed_cost"),
            effective=Sum("effective_cost"),
            listed=Sum("list_cost"),
            corrections=Count("id", filter=correction),
        )
        .order_by()
    )
    summary = {}
    charges = defaultdict(dict)
    for r in rows:
        money = summary.setdefault(
            r["currency"],
            {name: _figures() for name in ("all", "ai", "non_ai", "attributed", "unattributed")},
        )
        _add(money["all"], r)
        _add(money["ai" if r["is_ai"] else "non_ai"], r)
        _add(money["attributed" if r["owned"] else "unattributed"], r)
        key = r["charge"] if r["charge"] in CHARGE_EXPLANATIONS else r["charge"] or ""
        entry = charges[r["currency"]].setdefault(key, {**_figures(), "corrections": 0})
        _add(entry, r)
        entry["corrections"] += r["corrections"]
    for currency, money in summary.items():
        ordered = sorted(
            charges[currency].items(),
            key=lambda kv: (CHARGE_ORDER.index(kv[0]) if kv[0] in CHARGE_ORDER else 99, kv[0]),
        )
        money["by_charge"] = [
            {"category": key, "label": CHARGE_EXPLANATIONS.get(key, key.title()), **figures}
            for key, figures in ordered
        ]
        money["billed_minus_effective"] = money["all"]["billed"] - money["all"]["effective"]
        money["list_minus_effective"] = money["all"]["listed"] - money["all"]["effective"]
    return dict(sorted(summary.items(), key=lambda kv: -kv[1]["all"]["rows"]))
