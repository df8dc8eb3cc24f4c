"""What the ledger tells the features: signals sent when spend changes, received by the features
that react to it (connected in `showback.apps`), so the writer does not import them."""

from django.dispatch import Signal

# Sent once an import that wrote new spend has committed (sender: ImportBatch). Budgets check their
# thresholds and analytics scans for anomalies, now rather than at their next scheduled run.
spend_imported = Signal()
