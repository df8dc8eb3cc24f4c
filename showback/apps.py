from django.apps import AppConfig


class ShowbackConfig(AppConfig):
    name = "showback"
    verbose_name = "Showback"

    def ready(self):
        from portfolio import spend as portfolio_spend

        from . import charts, selectors, signals
        from .analytics import tasks as analytics_tasks
        from .attribution import tasks as attribution_tasks  # noqa: F401
        from .budgets import tasks as budgets_tasks
        from .gateway import signals as gateway_signals
        from .gateway import tasks as gateway_tasks  # noqa: F401
        from .ingest import tasks as ingest_tasks  # noqa: F401

        # The features are packages of showback, not apps: Celery discovers only <app>.tasks, so
        # their tasks are registered by the imports above; their receivers are connected here.
        gateway_signals.connect()
        # A price in force from a past day re-costs the usage-only rows that imports costed.
        from portfolio.signals import model_prices_changed

        from .ingest.recost import spend_estimates_recost

        model_prices_changed.connect(spend_estimates_recost, dispatch_uid="ingest-recost")
        # After an import, budgets are checked first, then anomalies scanned.
        signals.spend_imported.connect(budgets_tasks.evaluate_after_import, dispatch_uid="budgets")
        signals.spend_imported.connect(analytics_tasks.scan_after_import, dispatch_uid="analytics")
        # Portfolio reads spend through its door (portfolio/spend.py), filled from here: it never
        # imports showback.
        portfolio_spend.register(
            use_case_has_recent_spend=selectors.use_case_has_recent_spend,
            use_case_monthly_spend=selectors.use_case_monthly_spend,
            use_case_spend_summary=selectors.use_case_spend_summary,
            use_case_spend_totals=selectors.use_case_spend_totals,
            team_spend_summary=selectors.team_spend_summary,
            use_case_spend_trend=selectors.use_case_spend_trend,
            use_case_month_economics=selectors.use_case_month_economics,
            monthly_trend_chart=charts.monthly_trend_chart,
            spend_data_through=selectors.spend_data_through,
        )
