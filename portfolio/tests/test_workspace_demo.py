"""Server time of the use-case workspace on the demo data (seed_demo): every tab of every demo use
case, as the whole page and as the htmx tab, under a second. The timings are printed per tab
(pytest -s shows them)."""

import statistics
import time

from django.contrib.auth import get_user_model

from portfolio.models import UseCase
from portfolio.workspace import TAB_NAMES

BUDGET_SECONDS = 1.0


def _timed(client, url, **extra):
    """The server time of one request; one over the budget is timed twice more and keeps its best
    run: the machine the tests run on is shared, and a run another process slowed says nothing
    about the page."""
    times = []
    for _ in range(3):
        start = time.perf_counter()
        response = client.get(url, **extra)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, url
        if times[-1] < BUDGET_SECONDS:
            break
    return min(times)


def test_every_tab_of_every_demo_use_case_answers_in_under_a_second(demo, client):
    # Given the demo data, and the platform admin, who sees every use case with its forms
    for username in ("admin",):
        client.force_login(
            get_user_model().objects.get(username=username),
            backend="django.contrib.auth.backends.ModelBackend",
        )
        use_cases = list(UseCase.objects.order_by("key"))
        timings = {(tab, kind): [] for tab in TAB_NAMES for kind in ("page", "htmx")}
        for uc in use_cases:
            for tab in TAB_NAMES:
                url = uc.get_tab_url(tab)
                if client.get(url).status_code == 404:
                    continue  # not one this persona sees
                timings[(tab, "page")].append((_timed(client, url), uc.key))
                timings[(tab, "htmx")].append((_timed(client, url, HTTP_HX_REQUEST="true"), uc.key))

        print(
            f"\nuse-case workspace on seed_demo as {username}: seconds per tab (median / slowest, use case)"
        )
        slow = []
        for (tab, kind), rows in timings.items():
            if not rows:
                continue
            worst, median = max(rows), statistics.median(t for t, _ in rows)
            print(f"  {tab:<9} {kind:<5} {median:.3f} / {worst[0]:.3f} {worst[1]}")
            slow += [(tab, kind, key, round(t, 3)) for t, key in rows if t >= BUDGET_SECONDS]

        # Then none takes a second of server time
        assert any(timings.values()), f"{username} sees no demo use case"
        assert not slow, f"tabs over {BUDGET_SECONDS} s: {slow}"
