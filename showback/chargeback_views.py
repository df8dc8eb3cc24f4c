"""Chargeback statements, reconciliation and the FOCUS export."""

urlpatterns = []
