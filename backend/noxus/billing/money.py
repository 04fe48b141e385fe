"""Money arithmetic: integer centimes, Decimal for ratios, never float.

Swiss VAT is computed once per rate on the subtotal of the lines at that rate (not per line),
rounded half-up to the centime; the payable total is rounded to CHF 0.05 and the difference is
its own line, outside VAT.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

# Swiss standard VAT rate by date of supply (basis points). 7.7 % from 2018, 8.1 % from 2024.
VAT_STANDARD_RATES: tuple[tuple[date, int], ...] = (
    (date(2018, 1, 1), 770),
    (date(2024, 1, 1), 810),
)
ROUNDING_STEP = 5  # centimes: the smallest coin, CHF 0.05


def vat_rate_bp(supply_date: date) -> int:
    """The standard rate in force on the date the service was supplied."""
    rate = None
    for since, bp in VAT_STANDARD_RATES:
        if supply_date >= since:
            rate = bp
    if rate is None:
        raise ValueError(f"no Swiss VAT rate configured for {supply_date}; add it to VAT_STANDARD_RATES")
    return rate


def round_centimes(value: Decimal) -> int:
    """Half-up (commercial) rounding to a whole centime, symmetric for negatives."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def round_to_step(centimes: int, step: int = ROUNDING_STEP) -> int:
    """Nearest multiple of `step`, halves away from zero (CHF 0.025 -> 0.05)."""
    return round_centimes(Decimal(centimes) / step) * step


def vat_amount(base: int, rate_bp: int) -> int:
    return round_centimes(Decimal(base) * rate_bp / 10000)


@dataclass(frozen=True)
class Totals:
    subtotal: int
    vat: tuple[tuple[int, int, int], ...]  # (rate_bp, base, vat) sorted by rate
    vat_total: int
    rounding: int
    total: int


def totals(lines: Iterable[tuple[int, int | None]], step: int = ROUNDING_STEP) -> Totals:
    """(amount, vat_rate_bp) pairs of the priced lines (no rounding line) -> invoice totals."""
    subtotal = 0
    bases: dict[int, int] = {}
    for amount, rate in lines:
        subtotal += amount
        if rate is not None:
            bases[rate] = bases.get(rate, 0) + amount
    vat = tuple((rate, base, vat_amount(base, rate)) for rate, base in sorted(bases.items()))
    vat_total = sum(v for _, _, v in vat)
    exact = subtotal + vat_total
    total = round_to_step(exact, step)
    return Totals(subtotal, vat, vat_total, total - exact, total)


def prorate(amount: int, numerator: int, denominator: int) -> int:
    return round_centimes(Decimal(amount) * numerator / denominator)


def chf(centimes: int) -> str:
    """1234567 -> "12'345.67" (Swiss style, apostrophe thousands separator)."""
    sign = "-" if centimes < 0 else ""
    francs, cents = divmod(abs(centimes), 100)
    return f"{sign}{francs:,}.{cents:02d}".replace(",", "'")


def qr_amount(centimes: int) -> str:
    """The QR-bill amount field: "1234.55"."""
    return f"{centimes // 100}.{centimes % 100:02d}"
