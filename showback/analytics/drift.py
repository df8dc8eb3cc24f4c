"""Drift: a use case's unit economics getting worse slowly, where no single day is a spike.

Pure functions over daily aggregates shaped like DailySpend rows ({date: Usage}); nothing here
reads the database. The last 7 days (a whole week, so weekends weigh the same on both sides) are
compared with the 28 days before them, as ratios of sums, never averages of daily ratios:

- cost per call rising (spend / requests);
- output-to-input token ratio rising (output / (uncached + cached input));
- premium model share rising (frontier and reasoning tiers' share of spend), in percentage points;
- cache share falling (cached input / all input), in percentage points.

A signal needs volume on both sides (MIN_* per day on average), so that a quiet week or a use case
that barely runs does not drift on noise. Retry rate rising needs per-call telemetry (status and
attempt of each call) that DailySpend does not carry; it arrives with the gateway's usage events
and is left out here.
"""

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

RECENT_DAYS = 7
BASELINE_DAYS = 28
MIN_REQUESTS_PER_DAY = 20
MIN_TOKENS_PER_DAY = 10_000
MIN_COST_PER_DAY = Decimal("1")
ZERO = Decimal("0")
HUNDRED = Decimal("100")

# kind: (how the change is measured, thresholds of low, medium, high). "relative" changes are
# fractions of the baseline (0.25 = 25 % higher); "points" are differences of shares.
RULES = {
    "cost_per_call": ("relative", (Decimal("0.25"), Decimal("0.5"), Decimal("1"))),
    "output_ratio": ("relative", (Decimal("0.25"), Decimal("0.5"), Decimal("1"))),
    "premium_share": ("points", (Decimal("0.10"), Decimal("0.20"), Decimal("0.35"))),
    "cache_share": ("points", (Decimal("0.10"), Decimal("0.20"), Decimal("0.35"))),
}
# Which way is worse: cache share falling, everything else rising.
WORSE_WHEN_FALLING = {"cache_share"}
UNITS = {
    "cost_per_call": "per_call",
    "output_ratio": "ratio",
    "premium_share": "share",
    "cache_share": "share",
}


@dataclass(frozen=True)
class Usage:
    """One day (or a window's sum) of a use case's AI spend and traffic."""

    cost: Decimal = ZERO
    premium_cost: Decimal = ZERO
    requests: int = 0
    input_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other):
        return Usage(
            self.cost + other.cost,
            self.premium_cost + other.premium_cost,
            self.requests + other.requests,
            self.input_tokens + other.input_tokens,
            self.cached_tokens + other.cached_tokens,
            self.output_tokens + other.output_tokens,
        )

    @property
    def input_side(self) -> int:
        return self.input_tokens + self.cached_tokens


@dataclass(frozen=True)
class Drift:
    kind: str
    date: datetime.date
    baseline: Decimal
    recent: Decimal
    change: Decimal  # relative (0.3 = +30 %) or in points of share (0.12 = +12 points)
    severity: str
    detail: dict


def _sum(days: Mapping[datetime.date, Usage], start: datetime.date, n: int) -> Usage:
    total = Usage()
    for i in range(n):
        total = total + days.get(start + datetime.timedelta(days=i), Usage())
    return total


def metric(kind: str, u: Usage) -> Decimal | None:
    """The metric of a window, or None when the window lacks the volume to say."""
    if kind == "cost_per_call":
        enough = u.requests >= MIN_REQUESTS_PER_DAY
        return u.cost / u.requests if enough and u.requests else None
    if kind == "output_ratio":
        return Decimal(u.output_tokens) / u.input_side if u.input_side >= MIN_TOKENS_PER_DAY else None
    if kind == "premium_share":
        return u.premium_cost / u.cost if u.cost >= MIN_COST_PER_DAY else None
    if kind == "cache_share":
        return Decimal(u.cached_tokens) / u.input_side if u.input_side >= MIN_TOKENS_PER_DAY else None
    raise ValueError(kind)


def _per_day(u: Usage, n: int) -> Usage:
    """The window's daily average, used only to test the volume guards."""
    return Usage(
        u.cost / n,
        u.premium_cost / n,
        u.requests // n,
        u.input_tokens // n,
        u.cached_tokens // n,
        u.output_tokens // n,
    )


def _severity(change: Decimal, thresholds) -> str | None:
    low, medium, high = thresholds
    if change >= high:
        return "high"
    if change >= medium:
        return "medium"
    if change >= low:
        return "low"
    return None


def drift_signals(
    days: Mapping[datetime.date, Usage], *, day: datetime.date, first: datetime.date | None = None
) -> list[Drift]:
    """The drift signals of the week ending on `day` (inclusive) against the 28 days before it.

    `first` is the first day of the series: a baseline that reaches before it is too young.
    """
    recent_start = day - datetime.timedelta(days=RECENT_DAYS - 1)
    baseline_start = recent_start - datetime.timedelta(days=BASELINE_DAYS)
    first = first or min(days, default=day)
    if first > baseline_start:
        return []
    recent = _sum(days, recent_start, RECENT_DAYS)
    baseline = _sum(days, baseline_start, BASELINE_DAYS)
    recent_daily, baseline_daily = _per_day(recent, RECENT_DAYS), _per_day(baseline, BASELINE_DAYS)
    found = []
    for kind, (measure, thresholds) in RULES.items():
        if metric(kind, recent_daily) is None or metric(kind, baseline_daily) is None:
            continue
        before, now = metric(kind, baseline), metric(kind, recent)
        if before is None or now is None:
            continue
        if measure == "relative":
            if before <= 0:
                continue
            change = now / before - 1
        else:
            change = now - before
        worse = -change if kind in WORSE_WHEN_FALLING else change
        severity = _severity(worse, thresholds)
        if severity is None:
            continue
        found.append(
            Drift(
                kind=kind,
                date=day,
                baseline=before,
                recent=now,
                change=change,
                severity=severity,
                detail={
                    "unit": UNITS[kind],
                    "measure": measure,
                    "change": str(change.quantize(Decimal("0.0001"))),
                    "recent": [recent_start.isoformat(), day.isoformat()],
                    "baseline": [
                        baseline_start.isoformat(),
                        (recent_start - datetime.timedelta(days=1)).isoformat(),
                    ],
                    "recent_requests": recent.requests,
                    "baseline_requests": baseline.requests,
                    "recent_cost": str(recent.cost.quantize(Decimal("0.01"))),
                },
            )
        )
    return found
