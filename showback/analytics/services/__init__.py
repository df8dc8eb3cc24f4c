"""Writes of early warning: detection (the anomaly scan and its triage) and planning (forecast
assumptions)."""

from .detection import (
    MAX_SCAN_DAYS,
    anomalies_scan,
    anomaly_acknowledge,
    anomaly_explain,
    anomaly_resolve,
)
from .planning import forecast_assumption_create, forecast_assumption_delete

__all__ = [
    "MAX_SCAN_DAYS",
    "anomalies_scan",
    "anomaly_acknowledge",
    "anomaly_explain",
    "anomaly_resolve",
    "forecast_assumption_create",
    "forecast_assumption_delete",
]
