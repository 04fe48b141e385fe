"""Timesheet exports: CSV (UTF-8, ','), CSV for Swiss Excel (';' + BOM),
XLSX (openpyxl, one long sheet + totals), PDF monthly sheet (fpdf2).
Column formats are documented for third parties in docs/exports.md."""

import csv
import io
from copy import copy
from dataclasses import dataclass
from datetime import datetime

from noxus.hr.i18n import t
from noxus.hr.timesheets import Timesheet, hours

# Stable, English, machine-readable column names (docs/exports.md): payroll
# tools map these, so they never change with the UI language.
COLUMNS = ["personnel_number", "last_name", "first_name", "date", "weekday", "first_in", "last_out",
           "worked_minutes", "break_minutes", "target_minutes", "balance_minutes", "worked_hhmm",
           "balance_hhmm", "exceptions"]


@dataclass(frozen=True)
class Format:
    media_type: str
    extension: str


FORMATS = {
    "csv": Format("text/csv; charset=utf-8", "csv"),
    "csv-excel": Format("text/csv; charset=utf-8", "csv"),
    "xlsx": Format("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "pdf": Format("application/pdf", "pdf"),
}


def _time(dt: datetime | None, sheet: Timesheet) -> str:
    return dt.astimezone(sheet.zone).strftime("%H:%M") if dt else ""


def rows(sheets: list[Timesheet]):
    for s in sheets:
        e = s.employee
        for d in s.days:
            yield [e.personnel_number, e.last_name, e.first_name, d.day.isoformat(), d.day.isoweekday(),
                   _time(d.first_in, s), _time(d.last_out, s), d.worked_seconds // 60, d.break_seconds // 60,
                   d.target_seconds // 60, d.balance_seconds // 60, hours(d.worked_seconds),
                   hours(d.balance_seconds), " ".join(d.exceptions)]


def to_csv(sheets: list[Timesheet], excel: bool = False) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, delimiter=";" if excel else ",", lineterminator="\r\n")
    w.writerow(COLUMNS)
    w.writerows(rows(sheets))
    data = buf.getvalue().encode("utf-8")
    return b"\xef\xbb\xbf" + data if excel else data


def to_xlsx(sheets: list[Timesheet], lang: str = "fr") -> bytes:
    """One long sheet (a row per employee-day, durations as Excel times with
    [h]:mm) plus a totals sheet. Write-only mode: memory stays flat for 1000 employees."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(t("timesheet", lang))
    ws.freeze_panes = "A2"
    bold = Font(bold=True)

    def head(sheet, names):
        out = []
        for n in names:
            c = WriteOnlyCell(sheet, value=n)
            c.font = bold
            out.append(c)
        sheet.append(out)

    styled = {}

    def cell(sheet, value, number_format):
        # Binding a number format per cell is openpyxl's slow path: copy the
        # style array of one template cell instead (what openpyxl's copy does).
        key = (id(sheet), number_format)
        if key not in styled:
            styled[key] = WriteOnlyCell(sheet)
            styled[key].number_format = number_format
        c = WriteOnlyCell(sheet, value=value)
        c._style = copy(styled[key]._style)
        return c

    def dur(sheet, seconds):
        return cell(sheet, seconds / 86400, "[h]:mm;-[h]:mm")

    head(ws, ["personnel_number", "last_name", "first_name", "date", "first_in", "last_out", "worked", "breaks",
              "target", "balance", "exceptions"])
    for s in sheets:
        e = s.employee
        for d in s.days:
            date_cell = cell(ws, d.day, "dd.mm.yyyy")
            ws.append([e.personnel_number, e.last_name, e.first_name, date_cell, _time(d.first_in, s),
                       _time(d.last_out, s), dur(ws, d.worked_seconds), dur(ws, d.break_seconds),
                       dur(ws, d.target_seconds), dur(ws, d.balance_seconds), " ".join(d.exceptions)])
    tot = wb.create_sheet(t("total", lang))
    tot.freeze_panes = "A2"
    head(tot, ["personnel_number", "last_name", "first_name", "from", "to", "worked", "breaks", "target",
               "balance", "exceptions"])
    for s in sheets:
        e = s.employee
        tot.append([e.personnel_number, e.last_name, e.first_name, s.first.isoformat(), s.last.isoformat(),
                    dur(tot, s.worked_seconds), dur(tot, s.break_seconds), dur(tot, s.target_seconds),
                    dur(tot, s.balance_seconds), len(s.exceptions)])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _latin1(text: str) -> str:
    # The PDF core fonts are Latin-1: French accents pass, anything else becomes '?'.
    return text.encode("latin-1", "replace").decode("latin-1")


def to_pdf(sheets: list[Timesheet], lang: str = "fr", customer_name: str = "") -> bytes:
    """A monthly sheet per employee: days with in/out, totals, signature lines."""
    from fpdf import FPDF

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    widths = (22, 76, 18, 18, 18, 38)
    wd = (("Lu", "Ma", "Me", "Je", "Ve", "Sa", "Di") if lang == "fr" else
          ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"))
    for s in sheets:
        e = s.employee
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 14)
        pdf.cell(0, 8, _latin1(t("monthly_sheet", lang)), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        pdf.cell(0, 6, _latin1(f"{e.last_name} {e.first_name} - {t('personnel_number', lang)} "
                               f"{e.personnel_number}" + (f" - {customer_name}" if customer_name else "")),
                 new_x="LMARGIN", new_y="NEXT")
        pdf.cell(0, 6, _latin1(f"{t('period', lang)}: {s.first:%d.%m.%Y} - {s.last:%d.%m.%Y} ({s.zone.key})"),
                 new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
        pdf.set_font("Helvetica", "B", 9)
        for w, key in zip(widths, ("date", "in_out", "worked", "breaks", "balance", "exceptions")):
            pdf.cell(w, 6, _latin1(t(key, lang)), border=1)
        pdf.ln()
        pdf.set_font("Helvetica", "", 8)
        for d in s.days:
            inout = ", ".join(f"{_time(sh.start.at, s)}-{_time(sh.end.at, s) if sh.end else '?'}"
                              for sh in d.shifts)
            exc = ", ".join(t(x, lang).split(" (")[0] for x in d.exceptions)
            cells = (f"{wd[d.day.weekday()]} {d.day:%d.%m}", inout, hours(d.worked_seconds),
                     hours(d.break_seconds), hours(d.balance_seconds), exc[:26])
            for w, v in zip(widths, cells):
                pdf.cell(w, 5, _latin1(v), border=1)
            pdf.ln()
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(widths[0] + widths[1], 6, _latin1(f"{t('total', lang)} ({t('target', lang)} "
                                                   f"{hours(s.target_seconds)})"), border=1)
        for w, v in zip(widths[2:], (hours(s.worked_seconds), hours(s.break_seconds), hours(s.balance_seconds),
                                     str(len(s.exceptions)))):
            pdf.cell(w, 6, v, border=1)
        pdf.ln(18)
        pdf.set_font("Helvetica", "", 9)
        y = pdf.get_y()
        pdf.line(15, y, 95, y)
        pdf.line(115, y, 195, y)
        pdf.set_xy(15, y + 1)
        pdf.cell(80, 5, _latin1(t("signature_employee", lang)))
        pdf.set_xy(115, y + 1)
        pdf.cell(80, 5, _latin1(t("signature_employer", lang)))
    if not sheets:
        pdf.add_page()
        pdf.set_font("Helvetica", "", 10)
        pdf.cell(0, 8, _latin1(t("none", lang)))
    return bytes(pdf.output())


def render(fmt: str, sheets: list[Timesheet], lang: str = "fr", customer_name: str = "") -> bytes:
    if fmt == "csv":
        return to_csv(sheets)
    if fmt == "csv-excel":
        return to_csv(sheets, excel=True)
    if fmt == "xlsx":
        return to_xlsx(sheets, lang)
    if fmt == "pdf":
        return to_pdf(sheets, lang, customer_name)
    raise ValueError(fmt)


def filename(fmt: str, first, last, who: str = "all") -> str:
    return f"timesheet_{who}_{first:%Y%m%d}-{last:%Y%m%d}.{FORMATS[fmt].extension}"
