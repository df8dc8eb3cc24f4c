"""Reads of early warning: detection (anomalies) and planning (forecasts and commitments)."""

from .detection import (
    AnomalySeries,
    anomaly_counts,
    anomaly_filterset,
    anomaly_get,
    anomaly_queryset,
    anomaly_series,
    open_high_severity_anomalies,
)
from .planning import (
    ForecastView,
    History,
    PlannedAssumption,
    ProviderPlan,
    commitment_plans,
    forecast_get,
    forecastable_use_cases,
)

__all__ = [
    "AnomalySeries",
    "ForecastView",
    "History",
    "PlannedAssumption",
    "ProviderPlan",
    "anomaly_counts",
    "anomaly_filterset",
    "anomaly_get",
    "anomaly_queryset",
    "anomaly_series",
    "commitment_plans",
    "forecast_get",
    "forecastable_use_cases",
    "open_high_severity_anomalies",
]
