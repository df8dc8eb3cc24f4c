"""Early warning on spend: anomalies and drift, forecasts with driver assumptions, commitments.

anomalies, drift, forecasting and commitments are pure functions over series; services, selectors
and tasks are the database side.
"""
