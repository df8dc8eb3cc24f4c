"""Calendar arithmetic on days and months, in UTC: the one place every app takes it from.

A month is named by its first day (a `datetime.date` with day 1).
"""

import calendar
import datetime

from django.utils import timezone

# Spend is dated from 2000 to 2099 (the importers refuse other years): a month outside that span
# holds nothing, and month arithmetic near datetime's limit (year 9999) would overflow.
FIRST_YEAR, LAST_YEAR = 2000, 2099


def month_named(year: int, month: int) -> datetime.date | None:
    """The month `year`-`month` (its first day), or None when it is no month of the span the
    product records (FIRST_YEAR to LAST_YEAR): what a page or API does with a caller-chosen month."""
    if FIRST_YEAR <= year <= LAST_YEAR and 1 <= month <= 12:
        return datetime.date(year, month, 1)
    return None


def today() -> datetime.date:
    """Today in UTC."""
    return timezone.now().date()


def month_start(day: datetime.date) -> datetime.date:
    """The first day of day's month."""
    return day.replace(day=1)


def month_end(day: datetime.date) -> datetime.date:
    """The last day of day's month."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def add_months(day: datetime.date, n: int) -> datetime.date:
    """The first day of the month n months after day's month (n may be negative)."""
    y, m = divmod(day.year * 12 + day.month - 1 + n, 12)
    return datetime.date(y, m + 1, 1)


def months_back(day: datetime.date, n: int) -> datetime.date:
    """The first day of the month n months before day's month."""
    return add_months(day, -n)


def months_between(a: datetime.date, b: datetime.date) -> int:
    """Whole calendar months from a's month to b's month."""
    return (b.year - a.year) * 12 + (b.month - a.month)


def whole_months(start: datetime.date, end: datetime.date) -> int | None:
    """How many calendar months start..end covers exactly, or None if it is not whole months."""
    if start.day != 1 or end != month_end(end):
        return None
    return months_between(start, end) + 1


def shift_months(moment, n: int):
    """The same day and time n months later (or earlier), the day clipped to the month's length:
    31 January plus one month is 28 or 29 February. Works on dates and datetimes."""
    y, m = divmod(moment.month - 1 + n, 12)
    year, month = moment.year + y, m + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def month_list(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    """The months from first's month to last's month, both included."""
    return [add_months(first, i) for i in range(months_between(first, last) + 1)]
