"""Portfolio's events that apps above it react to.

`model_prices_changed` asks for the estimated usage of a model costed from the price book to be
costed again. It is sent inside the transaction that writes a price of the book, when the price
can change what past usage cost (its date is today or earlier), and inside an import's
transaction when its rows carry a month's volume across a volume tier (`until` then bounds the
re-costing to that month); both through `portfolio.services.prices.estimates_recost`. Showback's
gateway and ingest re-cost the estimated usage they hold and return what they changed,
{"events": n, "before": {currency: total}, "after": {currency: total}}, which that service
audits in the same transaction.
"""

from django.dispatch import Signal

# sender=AIModel, model=<AIModel>, since=<date>, until=<date, exclusive> or None
model_prices_changed = Signal()
