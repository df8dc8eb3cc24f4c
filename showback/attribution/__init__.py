"""Who spent it: the attribution rules (the engine in `engine.py`), their pages, and the
re-attribution of history when a rule changes.
"""
