from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.urls import reverse

from aifinops.core.roles import Role

register = template.Library()

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


@register.filter
def money(amount, currency="USD"):
    """1234.5, "USD" -> "$1,234.50"; other currencies keep their code: "CHF 1,234.50"."""
    if amount is None or amount == "":
        return "—"
    value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    sign = "-" if value < 0 else ""
    text = f"{abs(value):,.2f}"
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{currency} {text}"


@register.filter
def money_totals(totals):
    """{currency: amount} -> "$1,234.50 + €200.00"; empty -> "$0.00"."""
    if not totals:
        return money(0)
    return " + ".join(money(amount, currency) for currency, amount in sorted(totals.items()))


@register.filter
def role_label(value):
    try:
        return Role(value).label
    except ValueError:
        return value


@register.filter
def person(user, fallback="—"):
    """A user's full name, else their username; `fallback` when there is nobody."""
    if user is None:
        return fallback
    return user.get_full_name() or user.get_username()


@register.filter
def add_invalid(bound_field):
    """Render a bound field, marked is-invalid (for screen readers too) when it has errors."""
    attrs = {}
    if bound_field.errors:
        css = bound_field.field.widget.attrs.get("class", "")
        attrs = {"class": f"{css} is-invalid".strip(), "aria-invalid": "true"}
    return bound_field.as_widget(attrs=attrs)


@register.filter
def unit_price(amount, currency="USD"):
    """A price per unit, with the sub-cent digits it needs: 0.075 -> "$0.075", 2.5 -> "$2.50"."""
    if amount is None or amount == "":
        return "—"
    value = Decimal(str(amount)).normalize()
    places = max(2, -value.as_tuple().exponent) if value.as_tuple().exponent < 0 else 2
    text = f"{value:,.{min(places, 6)}f}"
    symbol = SYMBOLS.get(currency)
    return f"{symbol}{text}" if symbol else f"{currency} {text}"


@register.filter
def percent(value, places=0):
    """A percentage (already times 100) as "12 %": never "-0 %"; a share too small to show at this
    precision reads "<1 %" (or ">-1 %"), not "0 %"; None (no meaningful share) reads "—"."""
    return format_percent(value, places)


def format_percent(value, places=0):
    if value is None or value == "":
        return "—"
    places = int(places)
    value = Decimal(str(value))
    step = Decimal(1).scaleb(-places)
    rounded = value.quantize(step, rounding=ROUND_HALF_UP)
    if rounded == 0:
        if value == 0:
            return "0 %"
        return f"<{step} %" if value > 0 else f">-{step} %"
    return f"{rounded:,.{places}f} %"


@register.filter
def sub(amount, other):
    """amount minus other, for figures a template shows side by side (Decimal in, Decimal out)."""
    if amount is None or other is None:
        return None
    return Decimal(str(amount)) - Decimal(str(other))


@register.inclusion_tag("includes/breadcrumbs.html")
def breadcrumbs(*trail, print_hidden=False):
    """The trail above a page, in the one markup every page uses:
    `{% breadcrumbs "Showback" "showback:index" "Budgets" "showback:budget_list" budget.name %}`.

    Pairs of a label and where it leads (a URL name without arguments, a URL, or "" for no link),
    then the page's own label."""
    if not trail or len(trail) % 2 != 1:
        raise template.TemplateSyntaxError(
            "breadcrumbs takes (label, URL name or URL) pairs, then the page's label."
        )
    crumbs = []
    for label, target in zip(trail[:-1:2], trail[1:-1:2], strict=True):
        target = str(target or "")
        url = target if not target or target.startswith(("/", "?")) else reverse(target)
        crumbs.append({"label": label, "url": url})
    return {"crumbs": crumbs, "current": trail[-1], "print_hidden": print_hidden}
