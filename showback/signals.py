"""What the ledger tells the features: signals sent when spend changes, received by the features
that react to it (connected in `showback.apps`), so the writer does not import them."""

from django.dispatch import Signal

# Sent once an import that wrote new spend has committed (sender: ImportBatch). Budgets check their
# thresholds and analytics scans for anomalies, now rather than at their next scheduled run.
spend_imported = Signal()

# Sent once a batch of exchange rates has committed (sender: ExchangeRate): the gateway's cached
# policies carry rates into their caps' currencies, and a bulk write sends no post_save.
exchange_rates_loaded = Signal()
