"""Budgets on spend: their periods and statuses, alerts, increase requests, team webhooks, their
pages, API and tasks.
"""
