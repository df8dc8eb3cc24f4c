"""Monthly spend forecasts: damped exponential smoothing, a widening band and a rolling backtest
(the driver assumptions a planner adds are in assumptions.py). Pure functions over
[(month, Decimal)]; no database.

The method, as the forecast page explains it:

- Damped Holt (additive exponential smoothing with a damped trend): a level and a trend are
  updated every month, each a weighted average of what the month showed and what was expected. The
  trend is damped (multiplied by phi < 1 each month ahead), so a recent ramp-up is extrapolated but
  flattens out rather than growing for ever; a straight line therefore bends slightly.
- With 24 months or more, a seasonal term (one per calendar month, additive) is added: damped
  Holt-Winters. With less, a calendar pattern cannot be told from noise.
- The smoothing weights (alpha, beta, gamma) and the damping (phi) are chosen from a small grid by
  the smallest one-step-ahead squared error over the history.
- The band is an 80 % interval: 1.28 standard deviations of the one-step errors, widened for each
  month ahead by the variance formula of the same model (Hyndman and Athanasopoulos, "Forecasting:
  principles and practice", the ETS(A,Ad,N) and ETS(A,Ad,A) cases). Spend is never below zero.
- With fewer than six months of history there is no band: the spread of so few errors says
  little. With one or two months the forecast repeats the last month.

The backtest asks how the method would have done: from each of the last six month-ends it
forecasts one to three months ahead from the history before that point alone, and reports the
mean absolute percentage error (MAPE) against what was then spent. Months with no spend are left
out of the MAPE (a percentage of zero is undefined).

All arithmetic is Decimal, like the money it forecasts; the results are rounded to cents.
"""

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from aifinops.core.periods import add_months

ZERO = Decimal("0")
ONE = Decimal("1")
CENT = Decimal("0.01")
SEASON = 12
SEASONAL_MIN_MONTHS = 2 * SEASON
SMOOTHING_MIN_MONTHS = 3
BAND_MIN_MONTHS = 6
BAND_Z = Decimal("1.2816")  # 80 % two-sided normal interval
BAND_LEVEL = 80
ALPHAS = tuple(Decimal(a) for a in ("0.1", "0.2", "0.3", "0.5", "0.7", "0.9"))
BETAS = tuple(Decimal(b) for b in ("0.05", "0.1", "0.2", "0.4"))
PHIS = tuple(Decimal(p) for p in ("0.8", "0.9", "0.95", "0.98"))
GAMMAS = tuple(Decimal(g) for g in ("0.05", "0.2", "0.4"))
BACKTEST_ORIGINS = 6
BACKTEST_HORIZON = 3
MIN_HORIZON, MAX_HORIZON = 6, 12

METHODS = {
    "none": "No history yet",
    "naive": "Last month repeated",
    "holt_damped": "Damped Holt (exponential smoothing with a damped trend)",
    "holt_winters_damped": (
        "Damped Holt-Winters (exponential smoothing with a damped trend and a 12-month season)"
    ),
}


@dataclass(frozen=True)
class Fit:
    method: str
    alpha: Decimal = ZERO
    beta: Decimal = ZERO
    phi: Decimal = ONE
    gamma: Decimal = ZERO
    level: Decimal = ZERO
    trend: Decimal = ZERO
    seasonal: tuple = ()
    sigma: Decimal | None = None
    last: Decimal = ZERO

    def damped_sum(self, h: int) -> Decimal:
        total, power = ZERO, ONE
        for _ in range(h):
            power *= self.phi
            total += power
        return total

    def point(self, h: int) -> Decimal:
        if self.method in ("none", "naive"):
            return self.last
        value = self.level + self.damped_sum(h) * self.trend
        if self.seasonal:
            value += self.seasonal[(h - 1) % SEASON]
        return value

    def spread(self, h: int) -> Decimal | None:
        """Standard deviation of the h-step-ahead error."""
        if self.sigma is None:
            return None
        variance = ONE
        for j in range(1, h):
            c = self.alpha + self.alpha * self.beta * self.damped_sum(j)
            if self.seasonal and j % SEASON == 0:
                c += self.gamma * (1 - self.alpha)
            variance += c * c
        return self.sigma * variance.sqrt()


def _holt(y: Sequence[Decimal], alpha, beta, phi):
    level, trend = y[0], y[1] - y[0]
    sse = ZERO
    for value in y[1:]:
        expected = level + phi * trend
        error = value - expected
        sse += error * error
        new_level = alpha * value + (1 - alpha) * expected
        trend = beta * (new_level - level) + (1 - beta) * phi * trend
        level = new_level
    return sse, level, trend, ()


def _holt_winters(y: Sequence[Decimal], alpha, beta, phi, gamma):
    m = SEASON
    first = sum(y[:m]) / m
    trend = (sum(y[m : 2 * m]) / m - first) / m
    centre = Decimal(m - 1) / 2
    level = first + centre * trend
    seasonal = [y[i] - (first + (i - centre) * trend) for i in range(m)]
    sse = ZERO
    for t in range(m, len(y)):
        s = seasonal[t - m]
        expected = level + phi * trend + s
        error = y[t] - expected
        sse += error * error
        new_level = alpha * (y[t] - s) + (1 - alpha) * (level + phi * trend)
        trend = beta * (new_level - level) + (1 - beta) * phi * trend
        seasonal.append(gamma * (y[t] - new_level) + (1 - gamma) * s)
        level = new_level
    return sse, level, trend, tuple(seasonal[-m:])


def fit(values: Sequence[Decimal]) -> Fit:
    """The best model of the grid for a monthly series (oldest first)."""
    y = [Decimal(v) for v in values]
    n = len(y)
    if n == 0:
        return Fit("none")
    if n < SMOOTHING_MIN_MONTHS:
        return Fit("naive", last=y[-1])
    seasonal = n >= SEASONAL_MIN_MONTHS
    best = None
    for alpha in ALPHAS:
        for beta in BETAS:
            for phi in PHIS:
                for gamma in GAMMAS if seasonal else (ZERO,):
                    if seasonal:
                        sse, level, trend, season = _holt_winters(y, alpha, beta, phi, gamma)
                    else:
                        sse, level, trend, season = _holt(y, alpha, beta, phi)
                    if best is None or sse < best[0]:
                        best = (sse, alpha, beta, phi, gamma, level, trend, season)
    sse, alpha, beta, phi, gamma, level, trend, season = best
    errors = n - (SEASON if seasonal else 1)
    return Fit(
        "holt_winters_damped" if seasonal else "holt_damped",
        alpha=alpha,
        beta=beta,
        phi=phi,
        gamma=gamma,
        level=level,
        trend=trend,
        seasonal=season,
        sigma=(sse / errors).sqrt() if n >= BAND_MIN_MONTHS else None,
        last=y[-1],
    )


def forecast_values(values: Sequence[Decimal], horizon: int) -> list[Decimal]:
    """Point forecasts for the next `horizon` months, never below zero."""
    model = fit(values)
    return [max(ZERO, model.point(h)) for h in range(1, horizon + 1)]


@dataclass(frozen=True)
class ForecastPoint:
    month: datetime.date
    value: Decimal
    lower: Decimal
    upper: Decimal


@dataclass(frozen=True)
class Forecast:
    method: str
    history: list  # [(month, Decimal)], complete months, oldest first
    points: list  # [ForecastPoint]
    fit: Fit
    adjusted: bool = False
    notes: list = field(default_factory=list)

    @property
    def method_label(self) -> str:
        return METHODS[self.method]

    @property
    def has_band(self) -> bool:
        return self.fit.sigma is not None

    @property
    def total(self) -> Decimal:
        return sum((p.value for p in self.points), ZERO)


def trim_leading_zeros(history: Sequence[tuple[datetime.date, Decimal]]):
    """The history from its first month with spend: months before a use case began say nothing."""
    for i, (_, value) in enumerate(history):
        if value:
            return list(history[i:])
    return []


def whole_first_month(history: Sequence[tuple[datetime.date, Decimal]], first_day: datetime.date | None):
    """The history with its first month scaled up to a whole month at the same daily rate, when
    spend began part-way through it (on `first_day`): a use case that started on the 20th would
    otherwise seem to run at a third of its rate."""
    history = list(history)
    if not history or first_day is None:
        return history
    month, value = history[0]
    if first_day.day == 1 or first_day.replace(day=1) != month:
        return history
    days = (add_months(month, 1) - month).days
    active = days - first_day.day + 1
    return [(month, (value * days / active).quantize(CENT)), *history[1:]]


def forecast(
    history: Sequence[tuple[datetime.date, Decimal]], *, months: int, start: datetime.date
) -> Forecast:
    """Forecast `months` months from `start` (the first month to forecast), from the complete
    months of `history` [(month, spend)] before it, oldest first."""
    if not MIN_HORIZON <= months <= MAX_HORIZON:
        raise ValueError(f"Forecast {MIN_HORIZON} to {MAX_HORIZON} months, not {months}.")
    history = trim_leading_zeros(history)
    model = fit([v for _, v in history])
    points = []
    for h in range(1, months + 1):
        value = max(ZERO, model.point(h))
        spread = model.spread(h)
        half = BAND_Z * spread if spread is not None else ZERO
        points.append(
            ForecastPoint(
                month=add_months(start, h - 1),
                value=value.quantize(CENT),
                lower=max(ZERO, value - half).quantize(CENT),
                upper=(value + half).quantize(CENT),
            )
        )
    return Forecast(method=model.method, history=list(history), points=points, fit=model)


def mape(actuals: Sequence[Decimal], predictions: Sequence[Decimal]) -> Decimal | None:
    """Mean absolute percentage error, in percent, over the pairs whose actual is not zero."""
    errors = [abs(a - p) / abs(a) for a, p in zip(actuals, predictions, strict=True) if a]
    if not errors:
        return None
    return sum(errors, ZERO) / len(errors) * 100


@dataclass(frozen=True)
class Backtest:
    mape: Decimal | None
    pairs: list  # [(month, actual, predicted, months ahead)]
    origins: int
    horizon: int


def backtest(
    history: Sequence[tuple[datetime.date, Decimal]],
    *,
    origins: int = BACKTEST_ORIGINS,
    horizon: int = BACKTEST_HORIZON,
    forecaster: Callable[[Sequence[Decimal], int], list[Decimal]] = forecast_values,
    min_train: int = SMOOTHING_MIN_MONTHS,
) -> Backtest:
    """Rolling-origin backtest: from each of the last `origins` cut-off points, forecast up to
    `horizon` months ahead from the months before the cut alone, and score against the actuals."""
    history = trim_leading_zeros(history)
    values = [v for _, v in history]
    n = len(values)
    pairs = []
    used = 0
    for cut in range(max(min_train, n - origins), n):
        used += 1
        ahead = min(horizon, n - cut)
        predicted = forecaster(values[:cut], ahead)
        for h in range(ahead):
            pairs.append((history[cut + h][0], values[cut + h], predicted[h], h + 1))
    score = mape([p[1] for p in pairs], [p[2] for p in pairs]) if pairs else None
    return Backtest(mape=score, pairs=pairs, origins=used, horizon=horizon)
