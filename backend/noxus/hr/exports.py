"""Timesheet exports: CSV (UTF-8, ','), CSV for Swiss Excel (';' + BOM),
XLSX (openpyxl, one long sheet + totals), PDF monthly sheet (fpdf2).
Column formats are documented for third parties in docs/exports.md.

Spreadsheet safety: a text a person typed (a name, a personnel number) that
starts with = + - @, a tab or a carriage return is neutralised — in CSV with
a leading apostrophe, in XLSX as a text cell with Excel's quote prefix — so
`=cmd|'/C calc'!A0` as a first name is shown, never run."""

import csv
import io
from copy import copy
from dataclasses import dataclass
from datetime import datetime

from noxus.core.i18n import format_date, format_weekday, use_language
from noxus.core.i18n import gettext as _
from noxus.hr.attendance import AFTER_CLOSE, ESTIMATED, MISSING_OUT
from noxus.hr.timesheets import Timesheet, hours

# Stable, English, machine-readable column names (docs/exports.md): payroll
# tools map these, so they never change with the UI language.
COLUMNS = [
    "personnel_number",
    "last_name",
    "first_name",
    "date",
    "weekday",
    "first_in",
    "last_out",
    "worked_minutes",
    "break_minutes",
    "target_minutes",
    "balance_minutes",
    "worked_hhmm",
    "balance_hhmm",
    "exceptions",
    "credited_minutes",
    "absences",
    "holiday",
]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: str) -> str:
    """A typed text that a spreadsheet would read as a formula gets a leading apostrophe (OWASP)."""
    return "'" + value if value.startswith(FORMULA_START) else value


def exception_label(code: str) -> str:
    return {
        MISSING_OUT: _("Missing OUT"),
        ESTIMATED: _("Estimated time (kiosk clock unset)"),
        AFTER_CLOSE: _("Arrived after close (not counted)"),
    }.get(code, code)


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


def _absences(d) -> str:
    return " ".join(a.absence.kind.code for a in d.absences)


def rows(sheets: list[Timesheet]):
    for s in sheets:
        e = s.employee
        for d in s.days:
            yield [
                safe_text(e.personnel_number),
                safe_text(e.last_name),
                safe_text(e.first_name),
                d.day.isoformat(),
                d.day.isoweekday(),
                _time(d.first_in, s),
                _time(d.last_out, s),
                d.worked_seconds // 60,
                d.break_seconds // 60,
                d.target_seconds // 60,
                d.balance_seconds // 60,
                hours(d.worked_seconds),
                hours(d.balance_seconds),
                " ".join(d.exceptions),
                d.credited_seconds // 60,
                _absences(d),
                safe_text(d.holiday or ""),
            ]


def to_csv(sheets: list[Timesheet], excel: bool = False) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, delimiter=";" if excel else ",", lineterminator="\r\n")
    w.writerow(COLUMNS)
    w.writerows(rows(sheets))
    data = buf.getvalue().encode("utf-8")
    return b"\xef\xbb\xbf" + data if excel else data


class XlsxWriter:
    """Cells of a write-only sheet with shared styles. Binding a number format
    per cell is openpyxl's slow path: the style array of one template cell is
    copied instead (what openpyxl's own copy does)."""

    def __init__(self, ws):
        from openpyxl.cell import WriteOnlyCell

        self.ws, self._cell, self._styled = ws, WriteOnlyCell, {}

    def _template(self, key, **attrs):
        if key not in self._styled:
            c = self._cell(self.ws)
            for k, v in attrs.items():
                setattr(c, k, v)
            self._styled[key] = c
        return self._styled[key]

    def num(self, value, number_format: str):
        c = self._cell(self.ws, value=value)
        c._style = copy(self._template(number_format, number_format=number_format)._style)
        return c

    def text(self, value: str):
        """Always a text cell (never a formula), flagged with Excel's quote prefix when it looks like one."""
        c = self._cell(self.ws, value=value)
        c.data_type = "s"
        if value.startswith(FORMULA_START):
            c._style = copy(self._template("quote", quotePrefix=True)._style)
        return c

    def head(self, labels: list[str], widths: list[int]) -> None:
        from openpyxl.styles import Alignment, Font
        from openpyxl.utils import get_column_letter

        for i, w in enumerate(widths, 1):
            self.ws.column_dimensions[get_column_letter(i)].width = w
        self.ws.freeze_panes = "A2"
        out = []
        for label in labels:
            c = self._cell(self.ws, value=label)
            c.font, c.alignment = Font(bold=True), Alignment(wrap_text=True, vertical="top")
            out.append(c)
        self.ws.append(out)


HOURS_FMT = "0.00"  # decimal hours: Excel shows negative numbers (a negative time is ####)
DURATION_FMT = "[h]:mm"  # worked, breaks, target: never negative
TIME_FMT = "hh:mm"
DATE_FMT = "dd.mm.yyyy"


def to_xlsx(sheets: list[Timesheet], lang: str = "fr") -> bytes:
    """One long sheet (a row per employee-day) plus a totals sheet, headers in
    `lang`: IN/OUT as real time cells, worked/breaks/target as [h]:mm, the
    balance as decimal hours. Write-only mode: memory stays flat for 1000 employees."""
    from openpyxl import Workbook

    with use_language(lang):
        wb = Workbook(write_only=True)
        ws = wb.create_sheet(_("Timesheet"))
        x = XlsxWriter(ws)
        x.head(
            [
                _("Personnel no."),
                _("Last name"),
                _("First name"),
                _("Date"),
                _("In"),
                _("Out"),
                _("Worked"),
                _("Breaks"),
                _("Target"),
                _("Balance (h)"),
                _("Absences"),
                _("Holiday"),
                _("Exceptions"),
            ],
            [12, 20, 16, 11, 7, 7, 9, 9, 9, 10, 16, 18, 24],
        )
        for s in sheets:
            e = s.employee
            for d in s.days:
                who = [x.text(e.personnel_number), x.text(e.last_name), x.text(e.first_name)]
                first_in = d.first_in.astimezone(s.zone).time().replace(tzinfo=None) if d.first_in else None
                last_out = d.last_out.astimezone(s.zone).time().replace(tzinfo=None) if d.last_out else None
                ws.append(
                    [
                        *who,
                        x.num(d.day, DATE_FMT),
                        x.num(first_in, TIME_FMT),
                        x.num(last_out, TIME_FMT),
                        x.num(d.worked_seconds / 86400, DURATION_FMT),
                        x.num(d.break_seconds / 86400, DURATION_FMT),
                        x.num(d.target_seconds / 86400, DURATION_FMT),
                        x.num(round(d.balance_seconds / 3600, 2), HOURS_FMT),
                        ", ".join(a.absence.kind.name for a in d.absences),
                        x.text(d.holiday or ""),
                        ", ".join(exception_label(c) for c in d.exceptions),
                    ]
                )
        tot = wb.create_sheet(_("Total"))
        t = XlsxWriter(tot)
        t.head(
            [
                _("Personnel no."),
                _("Last name"),
                _("First name"),
                _("From"),
                _("To"),
                _("Worked"),
                _("Breaks"),
                _("Target"),
                _("Balance (h)"),
                _("Exceptions"),
            ],
            [12, 20, 16, 11, 11, 10, 10, 10, 10, 10],
        )
        for s in sheets:
            e = s.employee
            tot.append(
                [
                    t.text(e.personnel_number),
                    t.text(e.last_name),
                    t.text(e.first_name),
                    t.num(s.first, DATE_FMT),
                    t.num(s.last, DATE_FMT),
                    t.num(s.worked_seconds / 86400, DURATION_FMT),
                    t.num(s.break_seconds / 86400, DURATION_FMT),
                    t.num(s.target_seconds / 86400, DURATION_FMT),
                    t.num(round(s.balance_seconds / 3600, 2), HOURS_FMT),
                    len(s.exceptions),
                ]
            )
        buf = io.BytesIO()
        wb.save(buf)
        return buf.getvalue()


def _latin1(text: str) -> str:
    # The PDF core fonts are Latin-1: French and German accents pass, anything else becomes '?'.
    return text.encode("latin-1", "replace").decode("latin-1")


def to_pdf(sheets: list[Timesheet], lang: str = "fr", customer_name: str = "") -> bytes:
    """A monthly sheet per employee: days with in/out, totals, signature lines."""
    from fpdf import FPDF

    with use_language(lang):
        pdf = FPDF(orientation="P", unit="mm", format="A4")
        pdf.set_auto_page_break(auto=True, margin=15)
        widths = (22, 76, 18, 18, 18, 38)
        for s in sheets:
            e = s.employee
            pdf.add_page()
            pdf.set_font("Helvetica", "B", 14)
            pdf.cell(0, 8, _latin1(_("Monthly timesheet")), new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("Helvetica", "", 10)
            pdf.cell(
                0,
                6,
                _latin1(
                    f"{e.last_name} {e.first_name} - {_('Personnel no.')} "
                    f"{e.personnel_number}" + (f" - {customer_name}" if customer_name else "")
                ),
                new_x="LMARGIN",
                new_y="NEXT",
            )
            pdf.cell(
                0,
                6,
                _latin1(f"{_('Period')}: {format_date(s.first)} - {format_date(s.last)} ({s.zone.key})"),
                new_x="LMARGIN",
                new_y="NEXT",
            )
            pdf.ln(2)
            pdf.set_font("Helvetica", "B", 9)
            for w, label in zip(
                widths,
                (_("Date"), _("In / out"), _("Worked"), _("Breaks"), _("Balance"), _("Exceptions")),
                strict=True,
            ):
                pdf.cell(w, 6, _latin1(label), border=1)
            pdf.ln()
            pdf.set_font("Helvetica", "", 8)
            for d in s.days:
                inout = ", ".join(
                    f"{_time(sh.start.at, s)}-{_time(sh.end.at, s) if sh.end else '?'}" for sh in d.shifts
                )
                notes = [exception_label(x).split(" (")[0] for x in d.exceptions]
                notes += [a.absence.kind.name for a in d.absences] + ([d.holiday] if d.holiday else [])
                cells = (
                    f"{format_weekday(d.day)} {d.day:%d.%m}",
                    inout,
                    hours(d.worked_seconds),
                    hours(d.break_seconds),
                    hours(d.balance_seconds),
                    ", ".join(notes)[:26],
                )
                for w, v in zip(widths, cells, strict=False):
                    pdf.cell(w, 5, _latin1(v), border=1)
                pdf.ln()
            pdf.set_font("Helvetica", "B", 9)
            pdf.cell(
                widths[0] + widths[1],
                6,
                _latin1(f"{_('Total')} ({_('Target')} {hours(s.target_seconds)})"),
                border=1,
            )
            for w, v in zip(
                widths[2:],
                (
                    hours(s.worked_seconds),
                    hours(s.break_seconds),
                    hours(s.balance_seconds),
                    str(len(s.exceptions)),
                ),
                strict=True,
            ):
                pdf.cell(w, 6, v, border=1)
            pdf.ln(18)
            pdf.set_font("Helvetica", "", 9)
            y = pdf.get_y()
            pdf.line(15, y, 95, y)
            pdf.line(115, y, 195, y)
            pdf.set_xy(15, y + 1)
            pdf.cell(80, 5, _latin1(_("Employee's signature")))
            pdf.set_xy(115, y + 1)
            pdf.cell(80, 5, _latin1(_("Employer's signature")))
        if not sheets:
            pdf.add_page()
            pdf.set_font("Helvetica", "", 10)
            pdf.cell(0, 8, _latin1(_("None")))
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
