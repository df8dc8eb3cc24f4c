"""Portfolio's events that apps above it react to.

`model_prices_changed` is sent inside the transaction that writes a price of the book, when the
price can change what past usage cost (its date is today or earlier). Showback's gateway re-costs
the estimated usage it affects and returns what it changed, {"events": n, "before": {currency:
total}, "after": {currency: total}}, which the price service audits in the same transaction.
"""

from django.dispatch import Signal

# sender=AIModel, model=<AIModel>, since=<date>
model_prices_changed = Signal()
