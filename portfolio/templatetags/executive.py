"""Template filters of the finance and executive pages: shares and changes as percentages."""

from decimal import ROUND_HALF_UP, Decimal

from django import template

register = template.Library()


@register.filter
def share(fraction, places=0):
    """0.4237 -> "42 %"; None -> "—"."""
    if fraction is None or fraction == "":
        return "—"
    exact = Decimal(str(fraction)) * 100
    value = exact.quantize(Decimal(1).scaleb(-int(places)), rounding=ROUND_HALF_UP)
    if exact and not value:
        return f"under {Decimal(1).scaleb(-int(places))} %"
    return f"{value} %"


@register.filter
def change(fraction):
    """0.062 -> "+6 %", -0.1 -> "-10 %" (with a minus sign); None (nothing before) -> "new"."""
    if fraction is None or fraction == "":
        return "new"
    value = (Decimal(str(fraction)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return f"+{value} %" if value > 0 else (f"\u2212{abs(value)} %" if value < 0 else "\u00b10 %")


@register.filter
def get(mapping, key):
    return mapping.get(key) if mapping else None


@register.filter
def get_levels(history, month):
    """The levels of one month from a hierarchy's history [(month, {key: Level})]."""
    for m, levels in history:
        if m == month:
            return levels
    return {}


SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


@register.filter
def unit_cost(amount, currency="USD"):
    """A cost per unit, to the digits that matter: 1134.8564 -> "$1,134.86", 0.4127 -> "$0.413",
    0.0010551 -> "$0.00106"."""
    if amount is None or amount == "":
        return "—"
    value = Decimal(str(amount))
    size = abs(value)
    if size >= 1 or not size:
        text = f"{value:,.2f}"
    elif size >= Decimal("0.1"):
        text = f"{value:,.3f}"
    else:
        places = min(10, -size.adjusted() + 2)
        text = f"{value:,.{places}f}"
    symbol = SYMBOLS.get(currency)
    return f"{symbol}{text}" if symbol else f"{currency} {text}"
