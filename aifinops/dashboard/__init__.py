"""Finance and executive views of the whole portfolio: the dashboard, the metric hierarchy of a use
case, the executive narrative, the maturity scorecard and the build-versus-buy flag.

Read-only. Spend comes from the DailySpend rollup through showback; what waits on the apps above
portfolio (intake, council) is read in `waiting.py`, the one module here that asks them.
"""
