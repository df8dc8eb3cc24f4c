"""What usage would have cost at on-demand prices: the one function the commitments compare with.

Today it prices tokens at the model catalog's list prices (AIModel, per million tokens); usage the
catalog cannot price (no model, or no token counts) counts at the bill's own list cost. When the
price book's `price_in_force` lands, re-point `on_demand_cost` at it: nothing else changes.
"""

from decimal import Decimal

MILLION = Decimal(1_000_000)
ZERO = Decimal("0")


def on_demand_cost(row: dict) -> Decimal:
    """A usage row's value at on-demand prices. `row` holds the token counts (input_tokens,
    cached_tokens, output_tokens), list_cost, and the catalog prices (input_price, output_price,
    cached_price; None when the row has no catalog model)."""
    tokens = (
        (row.get("input_tokens") or 0) + (row.get("cached_tokens") or 0) + (row.get("output_tokens") or 0)
    )
    if row.get("input_price") is None or not tokens:
        return Decimal(row.get("list_cost") or ZERO)
    cached_price = row.get("cached_price")
    if cached_price is None:
        cached_price = row["input_price"]
    return (
        Decimal(row.get("input_tokens") or 0) * row["input_price"]
        + Decimal(row.get("cached_tokens") or 0) * cached_price
        + Decimal(row.get("output_tokens") or 0) * (row.get("output_price") or ZERO)
    ) / MILLION
