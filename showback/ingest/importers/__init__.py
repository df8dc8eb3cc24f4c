"""Spend importers, one per format. See base.py for the contract."""
