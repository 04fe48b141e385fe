"""Payroll export (one row per employee and month), the annual summary, and
spreadsheet safety: a hostile first name is shown, never run."""

import csv
import io
from datetime import UTC, date, datetime

from noxus.core.security import Scope
from noxus.core.settings import Settings
from noxus.hr import employees, exports, jobs, payroll_service, timesheets
from noxus.hr.models import ExportJob
from openpyxl import load_workbook

from .test_worktime import DAY, absent, work

S = Settings()
NOW = datetime(2030, 1, 1, tzinfo=UTC)
HOSTILE = "=cmd|'/C calc'!A0"


def _march(world, session):
    anne = world.employee(first=HOSTILE, last="Muller", number="007", uid="04A1")
    for d in range(2, 7):
        work(world, "04A1", date(2026, 3, d), (8, 0), (17, 0))  # 45 h in the first week
    absent(session, anne, "sick", date(2026, 3, 9), date(2026, 3, 10))
    session.commit()
    return anne


def test_payroll_csv_is_swiss_excel_and_neutralises_a_hostile_first_name(world, session):
    _march(world, session)
    f = payroll_service.build(
        session, world.a.id, {"year": 2026, "month": 3, "format": "csv-excel"}, S, now=NOW
    )
    assert f.content.startswith(b"\xef\xbb\xbf") and f.filename == "payroll_2026-03.csv"
    rows = list(csv.reader(io.StringIO(f.content[3:].decode("utf-8")), delimiter=";"))
    head, row = rows[0], dict(zip(rows[0], rows[1], strict=False))
    assert head[:4] == ["personnel_number", "last_name", "first_name", "month"]
    assert row["first_name"] == "'" + HOSTILE  # a text, not a formula
    assert row["worked_hours"] == "45.0" and row["overtime_hours"] == "3.0"
    assert row["absence_sick_hours"] == str(round(2 * DAY / 3600, 2))
    # 22 working days owed, 5 days worked (45 h) and 2 sick days credited
    assert float(row["balance_hours"]) == round((45 * 3600 + 2 * DAY - 22 * DAY) / 3600, 2)


def test_payroll_xlsx_has_numbers_widths_translated_headers_and_no_formula(world, session, tmp_path):
    _march(world, session)
    f = payroll_service.build(
        session, world.a.id, {"year": 2026, "month": 3, "format": "xlsx", "lang": "de"}, S, now=NOW
    )
    path = tmp_path / f.filename
    path.write_bytes(f.content)
    ws = load_workbook(path).worksheets[0]
    head = [c.value for c in ws[1]]
    assert head[:4] == ["Personalnr.", "Nachname", "Vorname", "Monat"]
    first = ws.cell(row=2, column=3)
    assert first.value == HOSTILE and first.data_type == "s" and first.quotePrefix
    balance = ws.cell(row=2, column=head.index("Monatssaldo (h)") + 1)
    assert balance.value == -123 and balance.number_format == "0.00"  # 45 h + 2 sick days - 22 x 8:24
    assert ws.column_dimensions["B"].width == 22 and ws.freeze_panes == "A2"


def test_timesheet_xlsx_has_time_cells_and_decimal_balance_and_no_formula(world, session, tmp_path):
    _march(world, session)
    emps = employees.listing(session, Scope.everything(), world.a.id)
    emp_sheets = timesheets.compute(
        session, world.a.id, emps, date(2026, 3, 1), date(2026, 3, 31), S, now=NOW
    )
    path = tmp_path / "t.xlsx"
    path.write_bytes(exports.to_xlsx(emp_sheets, "fr"))
    ws = load_workbook(path).worksheets[0]
    monday = ws[3]  # row 2 is Sunday 1 March
    assert monday[2].value == HOSTILE and monday[2].data_type == "s"
    assert monday[4].value.hour == 8 and monday[4].number_format == "hh:mm"  # IN as a time of day
    assert monday[9].value == 0.6 and monday[9].number_format == "0.00"  # 9:00 - 8:24 = 0.6 h
    assert ws.cell(row=1, column=1).value == "N° personnel"
    csv_rows = exports.to_csv(emp_sheets, excel=True).decode("utf-8-sig").splitlines()
    assert csv_rows[1].split(";")[2] == "'" + HOSTILE


def test_the_annual_summary_covers_twelve_months_without_the_93_day_cap(world, session):
    anne = _march(world, session)
    f = payroll_service.build(
        session, world.a.id, {"kind": "annual", "year": 2026, "format": "csv-excel"}, S, now=NOW
    )
    rows = list(csv.DictReader(io.StringIO(f.content.decode("utf-8-sig")), delimiter=";"))
    assert [r["month"] for r in rows] == [f"2026-{m:02d}" for m in range(1, 13)] + ["2026"]
    assert rows[-1]["worked_hours"] == "45.0" and anne.personnel_number == rows[0]["personnel_number"]
    # the balance runs on from month to month: December's carried balance is the year's total
    assert rows[11]["carried_out_hours"] == rows[12]["carried_out_hours"]
    assert float(rows[2]["carried_in_hours"]) == float(rows[1]["carried_out_hours"])


def test_a_background_export_records_progress_and_keeps_the_file(world, session, engine):
    _march(world, session)
    job = jobs.submit(session, world.a.id, "payroll", {"year": 2026, "month": 3, "format": "xlsx"}, "rh")
    session.commit()
    jobs.run(engine, job.id, S)  # what the worker thread runs
    session.expire_all()
    done = session.get(ExportJob, job.id)
    assert done.state == "done" and done.done == done.total == 1
    assert done.filename == "payroll_2026-03.xlsx" and done.content.startswith(b"PK")


def test_a_failed_background_export_says_why(world, session, engine):
    job = jobs.submit(
        session, world.a.id, "payroll", {"year": 2026, "month": 13, "format": "xlsx", "lang": "en"}, "rh"
    )
    session.commit()
    jobs.run(engine, job.id, S, "en")
    session.expire_all()
    failed = session.get(ExportJob, job.id)
    assert failed.state == "failed" and "2026-13 is not a month" in failed.error


def test_a_payroll_export_is_audited_with_its_scope(world, session, engine):
    from noxus.core import audit
    from noxus.core.audit_entry import AuditEntry
    from sqlmodel import select

    _march(world, session)
    job = jobs.submit(
        session, world.a.id, "payroll", {"year": 2026, "month": 3, "format": "csv-excel"}, "rh.alpha"
    )
    session.commit()
    jobs.run(engine, job.id, S)
    session.expire_all()
    [e] = session.exec(select(AuditEntry).where(AuditEntry.action == "export")).all()
    assert e.object_type == "payroll" and e.customer_id == world.a.id and e.actor == "rh.alpha"
    assert e.detail == {"kind": "payroll", "year": 2026, "month": 3, "format": "csv-excel", "employees": 1}
    assert audit.verify(session).ok


def test_timesheet_xlsx_and_pdf_headers_come_from_the_catalogs_in_the_readers_language(
    world, session, tmp_path
):
    import pypdfium2

    _march(world, session)
    emps = employees.listing(session, Scope.everything(), world.a.id)
    sheets = timesheets.compute(session, world.a.id, emps, date(2026, 3, 1), date(2026, 3, 31), S, now=NOW)
    path = tmp_path / "t.xlsx"
    path.write_bytes(exports.to_xlsx(sheets, "de"))
    book = load_workbook(path)
    assert book.sheetnames == ["Zeiterfassung", "Total"]
    head = [c.value for c in book.worksheets[0][1]]
    assert head[:4] == ["Personalnr.", "Nachname", "Vorname", "Datum"] and "Saldo (h)" in head
    pdf = pypdfium2.PdfDocument(exports.to_pdf(sheets, "de", "Alpha AG"))
    text = "".join(p.get_textpage().get_text_range() for p in pdf)
    assert (
        "Monatliche Zeiterfassung" in text and "Gearbeitet" in text and "Unterschrift Mitarbeiter/in" in text
    )
    # the CSV keeps its stable machine column names whatever the language (docs/exports.md)
    assert exports.to_csv(sheets).decode().startswith("personnel_number,last_name,first_name,date,")
