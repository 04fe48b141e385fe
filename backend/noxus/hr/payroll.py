"""Payroll export of a month (one row per employee) and the annual summary
(one row per employee and month), as CSV for Swiss Excel (';' + UTF-8 BOM)
and XLSX. Columns are documented for third parties in docs/exports.md."""

import csv
import io
from dataclasses import dataclass
from datetime import date

from noxus.core.i18n import gettext as _
from noxus.hr.balances import MonthSummary
from noxus.hr.exports import HOURS_FMT, XlsxWriter, safe_text

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = {"csv-excel": ("text/csv; charset=utf-8", "csv"), "xlsx": (XLSX, "xlsx")}


@dataclass(frozen=True)
class Column:
    key: str  # stable machine name (CSV header, docs/exports.md)
    label: str  # translated XLSX header
    kind: str  # text | hours | days | month
    width: int


def columns(kinds: list[tuple[str, str]], annual: bool = False) -> list[Column]:
    """`kinds`: (code, translated name) of the customer's absence types, in order."""
    cols = [
        Column("personnel_number", _("Personnel no."), "text", 12),
        Column("last_name", _("Last name"), "text", 22),
        Column("first_name", _("First name"), "text", 18),
        Column("month", _("Month"), "month", 9),
        Column("worked_hours", _("Worked (h)"), "hours", 11),
        Column("target_hours", _("Target (h)"), "hours", 11),
        Column("overtime_hours", _("Overtime (h)"), "hours", 11),
        Column("night_hours", _("Night (h)"), "hours", 10),
        Column("sunday_hours", _("Sunday (h)"), "hours", 10),
        Column("balance_hours", _("Month balance (h)"), "hours", 12),
        Column("carried_in_hours", _("Balance brought forward (h)"), "hours", 14),
        Column("carried_out_hours", _("Balance carried (h)"), "hours", 12),
    ]
    cols += [
        Column(f"absence_{code}_hours", _("%(type)s (h)") % {"type": name}, "hours", 12)
        for code, name in kinds
    ]
    cols += [
        Column("vacation_taken_days", _("Vacation taken in the month (days)"), "days", 12),
        Column("vacation_entitlement_days", _("Vacation entitlement of the year (days)"), "days", 12),
        Column("vacation_remaining_days", _("Vacation remaining (days)"), "days", 12),
        Column("exceptions", _("Open exceptions"), "count", 10),
    ]
    return cols


def _hours(seconds: int) -> float:
    return round(seconds / 3600, 2)


def values(m: MonthSummary, kinds: list[tuple[str, str]]) -> list:
    e, v = m.employee, m.vacation
    row = [
        e.personnel_number,
        e.last_name,
        e.first_name,
        f"{m.year}-{m.month:02d}" if m.month else str(m.year),
        _hours(m.worked_seconds),
        _hours(m.target_seconds),
        _hours(m.overtime_seconds),
        _hours(m.night_seconds),
        _hours(m.sunday_seconds),
        _hours(m.balance_seconds),
        _hours(m.carried_in_seconds),
        _hours(m.carried_out_seconds),
    ]
    row += [_hours(m.absences.get(code, 0)) for code, _name in kinds]
    row += [
        m.vacation_taken,
        v.entitlement + v.carried if v else 0.0,
        v.remaining if v else 0.0,
        m.exceptions,
    ]
    return row


def to_csv(summaries: list[MonthSummary], kinds: list[tuple[str, str]]) -> bytes:
    """Swiss Excel: ';', CRLF, UTF-8 with BOM, '.' decimals, machine column names."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    w.writerow([c.key for c in columns(kinds)])
    for m in summaries:
        w.writerow([safe_text(x) if isinstance(x, str) else x for x in values(m, kinds)])
    return b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")


def to_xlsx(summaries: list[MonthSummary], kinds: list[tuple[str, str]], title: str) -> bytes:
    """Headers in the reader's language, hours and days as numbers (a negative
    balance shows as -3.50, never ####), column widths, frozen header row, text
    cells never read as formulas."""
    from openpyxl import Workbook

    cols = columns(kinds)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title[:31])
    x = XlsxWriter(ws)
    x.head([c.label for c in cols], [c.width for c in cols])
    fmt = {"hours": HOURS_FMT, "days": "0.0#", "count": "0"}
    for m in summaries:
        ws.append(
            [
                x.text(v) if isinstance(v, str) else x.num(v, fmt[c.kind]) if c.kind in fmt else v
                for c, v in zip(cols, values(m, kinds), strict=False)
            ]
        )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def filename(fmt: str, year: int, month: int | None = None, annual: bool = False) -> str:
    ext = FORMATS[fmt][1]
    return f"payroll_{year}.{ext}" if annual else f"payroll_{year}-{month:02d}.{ext}"


def month_of(d: date) -> str:
    return f"{d.year}-{d.month:02d}"
