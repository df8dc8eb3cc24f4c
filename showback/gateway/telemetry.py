"""Latency histograms: hourly rows add up, and percentiles of any span come from the summed counts.

Bucket i holds latencies above LATENCY_BUCKETS_MS[i - 1] up to LATENCY_BUCKETS_MS[i]; the last
bucket holds everything slower. A percentile is interpolated within its bucket, so it is within a
bucket's width (about a third) of the exact figure: plenty to see latency move.
"""

from bisect import bisect_left

LATENCY_BUCKETS_MS = (
    1, 2, 3, 5, 8, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1_000, 1_500, 2_000,
    3_000, 5_000, 7_500, 10_000, 15_000, 20_000, 30_000, 60_000, 120_000,
)  # fmt: skip
SLOTS = len(LATENCY_BUCKETS_MS) + 1


def bucket(latency_ms: int) -> int:
    return bisect_left(LATENCY_BUCKETS_MS, latency_ms)


def add(hist: list, other: list) -> list:
    """The sum of two histograms (either may be empty)."""
    size = max(len(hist), len(other), SLOTS)
    hist = list(hist) + [0] * (size - len(hist))
    for i, n in enumerate(other):
        hist[i] += n
    return hist


def percentile(hist: list, q: float) -> float | None:
    """The q-th percentile (0-100) of a histogram, in ms; None when it is empty."""
    total = sum(hist)
    if not total:
        return None
    rank = q / 100 * total
    seen = 0
    for i, n in enumerate(hist):
        if n and seen + n >= rank:
            low = LATENCY_BUCKETS_MS[i - 1] if i > 0 else 0
            high = LATENCY_BUCKETS_MS[i] if i < len(LATENCY_BUCKETS_MS) else low * 2
            return low + (high - low) * max(rank - seen, 0) / n
        seen += n
    return float(LATENCY_BUCKETS_MS[-1])
