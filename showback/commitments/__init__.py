"""Commitments: committed spend and reserved capacity, their use, coverage, saving and amortisation."""
