"""Chargeback: spend per team to bill back, and the FOCUS and accounting exports with their API."""
