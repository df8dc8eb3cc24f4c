"""Dashboard benchmark: the finance pages at seed_demo size and at N generated spend records.

    scripts/with-services .venv/bin/python bench/dashboard.py --records 10000000

Two data sets, each in a fresh throwaway database:

1. seed_demo: the demo data exactly as `manage.py seed_demo` loads it.
2. generated: N spend records written by one INSERT ... SELECT over generate_series (so ten million
   take minutes, not hours): --use-cases use cases in --teams teams, two models each, over the
   last --days days, a few percent unattributed or not AI; a third of the use cases serve customers,
   each of their days one of 2,000 customers (a customer's requests of a day roll up together);
   then the real rollup service (daily_spend_rebuild) builds DailySpend and CustomerDailySpend
   from them, as an import would.

For each, the pages a finance analyst opens are timed through Django's test client (the whole
view: filters, selectors, charts, template), warm, the median of --repeat runs, with their query
count: the dashboard (default period, and the last 12 months), one chart's CSV, the narrative, the
scorecard, a use case's metric hierarchy, the margins. The baseline, timed in the same run, is the
least any dashboard must do: one SUM of the period's rows of the DailySpend rollup. The ratio says
how many such reads the page costs. For scale, one SUM over the raw spend records of the same
period is printed too (what the pages would pay without rollups).

Prints the figures and appends them to bench/results.md (kept out of git).
"""

import argparse
import datetime
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aifinops.settings.test")

PAGES = [
    ("dashboard, last month", "/dashboard/"),
    ("dashboard, 12 months", "/dashboard/?{last12}"),
    ("dashboard, one team", "/dashboard/?team={team}"),
    ("chart CSV (top use cases)", "/dashboard/chart.csv?chart=top_cost"),
    ("narrative", "/dashboard/narrative/"),
    ("maturity scorecard", "/dashboard/maturity/"),
    ("metric hierarchy", "/portfolio/use-cases/{use_case}/metrics/"),
    ("margins", "/showback/margins/"),
]


def _timed(fn, repeat):
    fn()  # warm: imports, plans, caches
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def _generate(records, *, use_cases, teams, days, stdout):
    """Teams, use cases and models through the ORM; spend records by one INSERT ... SELECT."""
    from decimal import Decimal

    from django.db import connection

    from aifinops.core import demo as core_demo
    from aifinops.core import periods
    from aifinops.core.demo import demo_user
    from portfolio.choices import AutonomyLevel, BusinessFunction, ModelTier, RiskTier, Stage
    from portfolio.models import AIModel, OptimizationItem, Provider, Team, UseCase, ValueSignal
    from showback.models import Budget, BudgetScope, CustomerRevenue

    with open(os.devnull, "w") as quiet:
        core_demo.seed(stdout=quiet)  # the demo people and their roles
    finance = demo_user("finance")
    functions = list(BusinessFunction.values)
    team_objs = Team.objects.bulk_create(
        Team(
            name=f"Team {i}",
            slug=f"team-{i}",
            business_function=functions[i % len(functions)],
            cost_center=f"CC-{i}",
        )
        for i in range(teams)
    )
    tiers = [ModelTier.SMALL, ModelTier.MID, ModelTier.FRONTIER, ModelTier.REASONING]
    providers = [
        Provider.objects.create(name=f"Provider {i}", slug=f"provider-{i}", kind="model_api")
        for i in range(6)
    ]
    models = []
    for i in range(24):
        model = AIModel(
            provider=providers[i % 6],
            key=f"model-{i}",
            name=f"Model {i}",
            tier=tiers[i % 4],
            input_price_per_mtok=Decimal("1"),
            output_price_per_mtok=Decimal("4"),
        )
        model.save()
        models.append(model)
    stages, risks, autonomy = list(Stage.values), list(RiskTier.values), list(AutonomyLevel.values)
    uc_objs = UseCase.objects.bulk_create(
        UseCase(
            key=f"uc-{i}",
            name=f"Use case {i}",
            purpose="Generated for the benchmark.",
            team=team_objs[i % teams],
            business_function=team_objs[i % teams].business_function,
            stage=stages[i % len(stages)],
            risk_tier=risks[i % len(risks)],
            autonomy_level=autonomy[i % len(autonomy)],
            business_owner=finance if i % 7 else None,
            technical_owner=finance if i % 5 else None,
            workflow=f"Workflow {i % 50}",
            value_per_outcome=Decimal("3"),
            outcomes_per_month=1000,
        )
        for i in range(use_cases)
    )
    today = periods.today()
    months = [periods.months_back(today, n) for n in range(1, 13)]
    ValueSignal.objects.bulk_create(
        ValueSignal(use_case=uc, month=m, outcomes=1000 + i, value_per_outcome=Decimal("3"), active_users=50)
        for i, uc in enumerate(uc_objs)
        for m in months
        if i % 3
    )
    OptimizationItem.objects.bulk_create(
        OptimizationItem(use_case=uc, title="Cache", lever="caching", expected_monthly_savings=Decimal("100"))
        for uc in uc_objs[::4]
    )
    Budget.objects.bulk_create(
        Budget(name=f"Team {t.slug}", scope=BudgetScope.TEAM, team=t, amount=Decimal("50000"), owner=finance)
        for t in team_objs
    )
    CustomerRevenue.objects.bulk_create(
        CustomerRevenue(
            month=m,
            customer=f"cust-{c}",
            segment=("Enterprise", "Mid-market", "SMB")[c % 3],
            revenue=Decimal("10000"),
        )
        for c in range(2000)
        for m in months[:6]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_map (n int PRIMARY KEY, use_case_id bigint, team_id bigint, "
            "provider_id bigint, model_id bigint, tier text)"
        )
        rows = []
        for i, uc in enumerate(uc_objs):
            for k in range(2):
                model = models[(i * 2 + k) % len(models)]
                rows.append((len(rows), uc.pk, uc.team_id, model.provider_id, model.pk, model.tier))
        cursor.executemany("INSERT INTO bench_map VALUES (%s, %s, %s, %s, %s, %s)", rows)
        start = datetime.datetime.combine(
            today - datetime.timedelta(days=days), datetime.time.min, tzinfo=datetime.UTC
        )
        started = time.perf_counter()
        # One row per record: the use case and model cycle through the map and the day moves on
        # after each full cycle, so every pair spends every day (later days cost more: growth);
        # the use-case-and-model pairs 5 mod 33 are unattributed and 7 mod 50 not AI.
        cursor.execute(
            """
            INSERT INTO showback_spendrecord (
                source, source_row_key, imported_at, charge_period_start, charge_period_end,
                provider_id, provider_name, service_name, service_category, model_id, model_name,
                token_type, quantity, unit, billed_cost, effective_cost, list_cost, currency,
                is_estimated, is_ai, billing_account, sub_account, api_key, user_label, tags,
                use_case_id, team_id, environment, raw_extras, customer, feature, attributed_by,
                input_tokens, cached_tokens, output_tokens, requests
            )
            SELECT 'bench', 'r' || g, now(), t.ts, t.ts + interval '1 hour',
                   m.provider_id, 'Provider', 'Model API', 'AI and Machine Learning', m.model_id, 'model',
                   CASE WHEN mod(g, 2) = 0 THEN 'input' ELSE 'output' END, 1000, 'Tokens',
                   t.cost, t.cost, t.cost, 'USD',
                   false, mod(m.n, 50) <> 7, 'acct', 'sub', '', '', '{}'::jsonb,
                   CASE WHEN mod(m.n, 33) = 5 THEN NULL ELSE m.use_case_id END, m.team_id, 'production',
                   '{}'::jsonb,
                   CASE WHEN mod(m.n, 3) = 0
                        THEN 'cust-' || mod(m.n * 31 + mod(g / %(combos)s, %(days)s), 2000) ELSE '' END,
                   CASE WHEN mod(m.n, 3) = 0 THEN 'feature-' || mod(m.n, 7) ELSE '' END, 'bench',
                   CASE WHEN mod(g, 2) = 0 THEN 1000 ELSE 0 END, 0,
                   CASE WHEN mod(g, 2) = 1 THEN 250 ELSE 0 END, 1
            FROM generate_series(1::bigint, %(n)s::bigint) AS g
            JOIN bench_map m ON m.n = mod(g, %(combos)s)
            CROSS JOIN LATERAL (
                SELECT %(start)s::timestamptz + mod(g / %(combos)s, %(days)s) * interval '1 day'
                           + mod(g, 86399) * interval '1 second' AS ts,
                       round((mod(g * 7919, 1000) + 1) / 10000.0
                             * (1 + mod(g / %(combos)s, %(days)s)::numeric / %(days)s), 6)
                           AS cost
            ) t
            """,
            {"n": records, "combos": len(rows), "start": start, "days": days},
        )
        cursor.execute("ANALYZE showback_spendrecord")
    stdout.write(f"  {records:,} spend records written in {time.perf_counter() - started:.1f} s\n")
    return start.date(), today


def _rollup(first, last, stdout):
    from django.db import connection

    from showback.models import CustomerDailySpend, DailySpend
    from showback.rollups import daily_spend_rebuild

    started = time.perf_counter()
    day = first
    while day <= last:  # a month at a time, as imports touch their own days
        end = min(last, day + datetime.timedelta(days=30))
        daily_spend_rebuild(start=day, end=end)
        day = end + datetime.timedelta(days=1)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE showback_dailyspend")
        cursor.execute("ANALYZE showback_customerdailyspend")
    seconds = time.perf_counter() - started
    stdout.write(
        f"  rollups rebuilt in {seconds:.1f} s: {DailySpend.objects.count():,} DailySpend rows, "
        f"{CustomerDailySpend.objects.count():,} CustomerDailySpend rows\n"
    )
    return seconds


def _measure(label, *, repeat, stdout):
    from django.conf import settings
    from django.db import connection, reset_queries
    from django.db.models import Sum
    from django.test import Client

    from aifinops.core import periods
    from aifinops.core.demo import demo_user
    from aifinops.dashboard.filters import default_filters, preset_period
    from portfolio.models import Team, UseCase
    from showback.models import DailySpend, SpendRecord

    settings.ALLOWED_HOSTS = ["*"]
    client = Client()
    client.force_login(demo_user("finance"), backend="django.contrib.auth.backends.ModelBackend")
    f = default_filters()
    start12, end12 = preset_period("last_12_months", periods.today())
    values = {
        "last12": f"start={start12}&end={end12}",
        "team": Team.objects.order_by("pk").values_list("slug", flat=True).first(),
        "use_case": UseCase.objects.filter(stage="scale")
        .order_by("pk")
        .values_list("key", flat=True)
        .first(),
    }

    def rollup_sum():
        return DailySpend.objects.filter(date__gte=f.start, date__lte=f.end, is_ai=True).aggregate(
            t=Sum("effective_cost")
        )

    start_dt = datetime.datetime.combine(f.start, datetime.time.min, tzinfo=datetime.UTC)
    end_dt = datetime.datetime.combine(
        f.end + datetime.timedelta(days=1), datetime.time.min, tzinfo=datetime.UTC
    )

    def raw_sum():
        return SpendRecord.objects.filter(
            charge_period_start__gte=start_dt, charge_period_start__lt=end_dt, is_ai=True
        ).aggregate(t=Sum("effective_cost"))

    baseline, _ = _timed(rollup_sum, repeat)
    raw, _ = _timed(raw_sum, max(1, repeat // 2))
    results = {"baseline": baseline, "raw": raw, "pages": []}
    stdout.write(
        f"\n{label}: {SpendRecord.objects.count():,} spend records, "
        f"{DailySpend.objects.count():,} rollup rows\n"
    )
    stdout.write(f"  baseline, one SUM of last month's rollup rows: {baseline * 1000:.1f} ms\n")
    stdout.write(f"  the same SUM over the raw spend records: {raw * 1000:.1f} ms\n")
    for name, template in PAGES:
        url = template.format(**values)
        settings.DEBUG = True
        reset_queries()
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)
        queries = len(connection.queries)
        settings.DEBUG = False

        def get(url=url):
            r = client.get(url)
            if getattr(r, "streaming", False):
                b"".join(r.streaming_content)
            return r

        seconds, _ = _timed(get, repeat)
        results["pages"].append((name, seconds, queries))
        stdout.write(
            f"  {name:<28} {seconds * 1000:8.1f} ms  {queries:3d} queries  "
            f"{seconds / baseline:7.1f}x baseline\n"
        )
    return results


def _fresh(old_config):
    from django.test.utils import setup_databases, teardown_databases

    if old_config is not None:
        teardown_databases(old_config, verbosity=0)
    return setup_databases(verbosity=0, interactive=False)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--use-cases", type=int, default=400)
    parser.add_argument("--teams", type=int, default=40)
    parser.add_argument("--days", type=int, default=395)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-demo", action="store_true")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("The dashboard benchmark needs PostgreSQL: run it through scripts/with-services.")
    out = sys.stdout
    config = None
    runs = []
    try:
        if not args.skip_demo:
            config = _fresh(config)
            started = time.perf_counter()
            with open(os.devnull, "w") as quiet:
                call_command("seed_demo", stdout=quiet)
            out.write(f"seed_demo loaded in {time.perf_counter() - started:.1f} s\n")
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
            runs.append(("seed_demo", _measure("seed_demo", repeat=args.repeat, stdout=out)))
        config = _fresh(config)
        out.write(f"\nGenerating {args.records:,} spend records\n")
        first, last = _generate(
            args.records, use_cases=args.use_cases, teams=args.teams, days=args.days, stdout=out
        )
        rollup = _rollup(first, last, out)
        runs.append(
            (
                f"{args.records:,} records",
                _measure(f"{args.records:,} records", repeat=args.repeat, stdout=out),
            )
        )
    finally:
        if config is not None:
            from django.test.utils import teardown_databases

            teardown_databases(config, verbosity=0)

    results = ROOT / "bench" / "results.md"
    if not results.exists():
        results.write_text("# Benchmark results\n")
    today = datetime.datetime.now(tz=datetime.UTC).date()
    lines = ["", f"## Dashboard pages ({today}, median of {args.repeat} warm runs)", ""]
    lines.append("| data | baseline SUM | raw SUM | " + " | ".join(n for n, _ in PAGES) + " |")
    lines.append("|---" * (3 + len(PAGES)) + "|")
    for label, r in runs:
        cells = [f"{s * 1000:.0f} ms, {q} q ({s / r['baseline']:.0f}x)" for _, s, q in r["pages"]]
        lines.append(
            f"| {label} | {r['baseline'] * 1000:.1f} ms | {r['raw'] * 1000:.0f} ms | "
            + " | ".join(cells)
            + " |"
        )
    lines.append(f"\nRollups of the generated records rebuilt in {rollup:.0f} s.")
    with results.open("a") as handle:
        handle.write("\n".join(lines) + "\n")
    out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
