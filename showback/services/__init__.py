"""Every write of showback: imports and the daily rollup."""

from .rollups import daily_spend_rebuild

__all__ = ["daily_spend_rebuild"]
