"""A commitment's cost over its term and across use cases adds up to the cent, whatever the term,
the amount and the usage shares (zero-usage months included)."""

import datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from showback.commitment_schedule import capacity_total, largest_remainder, term_months, term_schedule
from showback.commitments import amortisation

D = Decimal
CENT = D("0.01")

amounts = st.decimals(
    min_value=D("0"), max_value=D("10000000"), places=2, allow_nan=False, allow_infinity=False
)
draws = st.decimals(
    min_value=D("-50"), max_value=D("1000000"), places=4, allow_nan=False, allow_infinity=False
)
days = st.dates(min_value=datetime.date(2020, 1, 1), max_value=datetime.date(2035, 12, 31))


@settings(max_examples=300, deadline=None)
@given(total=amounts, start=days, length=st.integers(min_value=0, max_value=1200))
def test_the_term_schedule_adds_up_to_the_commitment_to_the_cent(total, start, length):
    end = start + datetime.timedelta(days=length)
    schedule = term_schedule(total, start, end)
    assert sum(amount for _, amount in schedule) == total
    assert all(amount == amount.quantize(CENT) and amount >= 0 for _, amount in schedule)
    # every month of the term, once, in order
    assert [m for m, _ in schedule] == [m for m, _ in term_months(start, end)]
    assert sum(d for _, d in term_months(start, end)) == length + 1


@settings(max_examples=300, deadline=None)
@given(
    committed=amounts,
    shares=st.dictionaries(st.one_of(st.none(), st.integers(min_value=1, max_value=40)), draws, max_size=12),
)
def test_a_months_amortisation_adds_up_to_its_cost_to_the_cent(committed, shares):
    parts = amortisation.amortise(committed, shares)
    assert sum(parts.values()) == committed
    assert all(v >= 0 and v == v.quantize(CENT) for v in parts.values())
    # use cases with no usage (or a credit) get nothing; the unused part is waste
    for key, draw in shares.items():
        if draw <= 0:
            assert parts.get(key, D(0)) == 0
    used = sum((v for v in shares.values() if v > 0), D(0))
    if used >= committed:
        assert parts.get(amortisation.WASTE, D(0)) <= CENT * len(parts)
    else:
        # independent: the waste is the shortfall, within a cent of rounding
        assert abs(parts[amortisation.WASTE] - (committed - used)) <= CENT


def test_a_month_with_no_usage_is_all_waste_and_shares_follow_the_usage():
    assert amortisation.amortise(D("100.00"), {}) == {amortisation.WASTE: D("100.00")}
    assert amortisation.amortise(D("100.00"), {1: D(0), 2: D(0)}) == {amortisation.WASTE: D("100.00")}
    # 300 of usage on a 100 commitment: split 1:2, no waste
    assert amortisation.amortise(D("100.00"), {1: D(100), 2: D(200)}) == {
        1: D("33.33"),
        2: D("66.67"),
        amortisation.WASTE: D("0.00"),
    }
    # 60 of usage on a 100 commitment: 40 wasted
    assert amortisation.amortise(D("100.00"), {1: D(20), None: D(40)}) == {
        1: D("20.00"),
        None: D("40.00"),
        amortisation.WASTE: D("40.00"),
    }


def test_largest_remainder_gives_the_odd_cents_to_the_largest_remainders():
    assert largest_remainder(D("1.00"), [D(1), D(1), D(1)]) == [D("0.34"), D("0.33"), D("0.33")]
    assert largest_remainder(D("0.05"), [D(0), D(0)]) == [D("0.00"), D("0.00")]
    assert largest_remainder(D("-1.00"), [D(1), D(2)]) == [D("-0.33"), D("-0.67")]


def test_a_year_of_capacity_costs_twelve_months_and_a_part_month_its_days():
    # 100 PTU at 26 a unit a month for a calendar year
    assert capacity_total(D(2600), datetime.date(2026, 1, 1), datetime.date(2026, 12, 31)) == D("31200.00")
    # from 16 to 30 April: 15 of 30 days
    assert capacity_total(D(3000), datetime.date(2026, 4, 16), datetime.date(2026, 4, 30)) == D("1500.00")
    schedule = term_schedule(D("1000.00"), datetime.date(2026, 1, 17), datetime.date(2026, 2, 28))
    # 15 days of January against 28 of February
    assert schedule == [(datetime.date(2026, 1, 1), D("348.84")), (datetime.date(2026, 2, 1), D("651.16"))]


def test_utilisation_coverage_and_saving_of_a_month():
    month = datetime.date(2026, 3, 1)
    # 1,000 committed; use cases drew 600 and 200 at effective cost, worth 1,000 on demand
    [m] = amortisation.months_of(
        [(month, D("1000.00"))],
        {month: {1: (D(600), D(750)), 2: (D(200), D(250))}},
        draw_on_demand=False,
    )
    assert m.used == D(800)
    assert m.utilisation == D("0.8")
    assert m.coverage == 1
    assert m.saving == D("0.00")  # 1,000 on demand for 1,000 committed
    assert m.amortised == {1: D("600.00"), 2: D("200.00"), amortisation.WASTE: D("200.00")}
    # capacity draws at on-demand value and takes all the traffic routed to it: usage worth 2,000
    # on demand ran on 1,000 of capacity, a saving of 1,000
    [m] = amortisation.months_of([(month, D("1000.00"))], {month: {1: (D(0), D(2000))}}, draw_on_demand=True)
    assert (m.utilisation, m.coverage, m.saving) == (1, 1, D("1000.00"))
    # worth 400: 60 % of the capacity wasted, 600 lost against on demand
    [m] = amortisation.months_of([(month, D("1000.00"))], {month: {1: (D(0), D(400))}}, draw_on_demand=True)
    assert (m.utilisation, m.coverage, m.saving, m.waste) == (D("0.4"), 1, D("-600.00"), D("600.00"))
    totals = amortisation.totals([m])
    assert (totals.utilisation, totals.coverage, totals.saving) == (D("0.4"), 1, D("-600.00"))
