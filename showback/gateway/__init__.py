"""Guardrails in the call path: gateway keys, usage events, and budget authorization for AI
gateways and agents.

Models live in `models.py` here and are loaded by `showback.models`; reads are in `selectors.py`,
writes in `services.py`, the real-time decision in `authorize.py` over the Redis counters of
`counters.py`.
"""
