"""Money arithmetic: integer centimes, VAT once per rate, rounding to CHF 0.05 as its own line."""

from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from noxus.billing.money import chf, round_to_step, totals, vat_amount, vat_rate_bp

lines = st.lists(
    st.tuples(st.integers(-(10**8), 10**8), st.sampled_from([770, 810, 260, 380, None])),
    min_size=0,
    max_size=30,
)


@given(lines)
def test_lines_plus_vat_plus_rounding_equal_the_total_and_the_total_is_payable_in_coins(items):
    t = totals(items)
    assert t.subtotal == sum(a for a, _ in items)
    assert t.subtotal + t.vat_total + t.rounding == t.total
    assert t.total % 5 == 0 and -2 <= t.rounding <= 2
    assert t.vat_total == sum(v for _, _, v in t.vat)


@given(lines)
def test_vat_is_computed_once_per_rate_on_the_subtotal_of_that_rate(items):
    t = totals(items)
    for rate, base, vat in t.vat:
        assert base == sum(a for a, r in items if r == rate)
        exact = Decimal(base) * rate / 10000
        assert abs(Decimal(vat) - exact) <= Decimal("0.5")


@given(lines)
def test_crediting_every_line_gives_exactly_the_negative_total(items):
    assert totals([(-a, r) for a, r in items]).total == -totals(items).total


def test_vat_per_rate_differs_from_summing_rounded_per_line_vat():
    # three lines of CHF 0.06 at 8.1 %: per line 0.00486 -> 0 each; on the subtotal 0.0146 -> 0.01
    assert totals([(6, 810)] * 3).vat_total == 1
    assert sum(vat_amount(6, 810) for _ in range(3)) == 0


def test_rate_follows_the_date_of_supply():
    assert vat_rate_bp(date(2023, 12, 31)) == 770 and vat_rate_bp(date(2024, 1, 1)) == 810


def test_rounding_to_five_centimes_half_up():
    assert [round_to_step(c) for c in (32322, 32323, 32325, 32327, -32323)] == [
        32320,
        32325,
        32325,
        32325,
        -32325,
    ]
    assert chf(123456789) == "1'234'567.89" and chf(-5) == "-0.05"
