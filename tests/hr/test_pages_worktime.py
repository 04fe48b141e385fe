"""HR pages for people: a bad month is a 422 page, a bad form comes back with
the typed values and a message in the page's language, nothing saved."""

from noxus.core.security import Role
from noxus.hr.models import WorkSchedule
from sqlmodel import select

from .test_api import app, as_user  # noqa: F401  (fixture)

HTML = {"Accept": "text/html"}


def test_a_month_like_2026_13_is_a_422_page_not_a_500(app, world, session):  # noqa: F811
    anne = world.employee(uid="04A1")
    session.commit()
    c = as_user(app, Role.HR_ADMIN, world.a.id)
    for path in (f"/hr/employees/{anne.id}?month=2026-13", "/hr/team?month=abc", "/hr/periods?month=2026-00"):
        r = c.get(path, headers=HTML)
        assert r.status_code == 422 and r.headers["content-type"].startswith("text/html"), path
        assert "2026-03" in r.text  # says what to type


def test_a_percentage_above_100_is_refused_in_german_and_nothing_is_saved(app, world, session):  # noqa: F811
    anne = world.employee(uid="04A1")
    session.commit()
    c = as_user(app, Role.HR_ADMIN, world.a.id)
    r = c.post(
        f"/hr/employees/{anne.id}/schedule?lang=de",
        headers=HTML,
        follow_redirects=False,
        data={
            "valid_from": "2026-01-01",
            "percent": "120",
            "weekly_hours": "42",
            "working_days": "12345",
            "vacation_days": "20",
            "month": "2026-03",
        },
    )
    assert r.status_code == 422
    assert "das Arbeitspensum muss zwischen 0 und 100 liegen (erhalten: 120)" in r.text
    assert 'value="120"' in r.text  # what was typed comes back
    assert session.exec(select(WorkSchedule)).all() == []


def test_the_absence_form_starts_with_no_type_chosen_and_says_which_field_is_missing(app, world, session):  # noqa: F811
    anne = world.employee(uid="04A1")
    session.commit()
    c = as_user(app, Role.HR_ADMIN, world.a.id)
    page = c.get(f"/hr/employees/{anne.id}?month=2026-03&lang=fr", headers=HTML).text
    assert '<option value="">— Choisir —</option>' in page
    r = c.post(
        f"/hr/employees/{anne.id}/absences?lang=fr",
        headers=HTML,
        follow_redirects=False,
        data={"first": "2026-03-02", "reason": "x", "month": "2026-03"},
    )
    assert r.status_code == 422 and "Ce champ est obligatoire." in r.text and 'value="2026-03-02"' in r.text


def test_a_refused_correction_comes_back_with_a_message_at_the_field_and_what_was_typed(app, world, session):  # noqa: F811
    from datetime import UTC, datetime

    from noxus.hr import periods
    from noxus.hr.models import PunchCorrection

    anne = world.employee(uid="04A1")
    raw = world.punch("04A1", datetime(2026, 3, 2, 7, tzinfo=UTC))
    session.commit()
    c = as_user(app, Role.HR_ADMIN, world.a.id)
    url = f"/hr/employees/{anne.id}/corrections?lang=de"
    # a missing time and a reason too short: one message each, the reason as typed
    r = c.post(
        url, headers=HTML, follow_redirects=False, data={"action": "add", "reason": "xy", "month": "2026-03"}
    )
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    add_form = r.text.split('id="add-punch"', 1)[1].split("</form>", 1)[0]
    assert 'id="err-fix-at">Dieses Feld ist erforderlich.' in add_form
    assert 'id="err-fix-reason">' in add_form and 'value="xy"' in add_form
    # a move to a time that is no time, in the move form: the message and the choices stay there
    r = c.post(
        url,
        headers=HTML,
        follow_redirects=False,
        data={"action": "void", "ref": f"p{raw.id}", "reason": "  ", "month": "2026-03"},
    )
    move_form = r.text.split('id="move-punch"', 1)[1].split("</form>", 1)[0]
    assert r.status_code == 422 and 'id="err-move-reason"' in move_form
    assert 'value="void" selected' in move_form and "err-fix" not in r.text
    # a closed month: said in German at the time field, nothing saved
    periods.close(session, world.a.id, 2026, 3, "test")
    session.commit()
    r = c.post(
        url,
        headers=HTML,
        follow_redirects=False,
        data={
            "action": "add",
            "at": "2026-03-02T17:00",
            "reason": "Ausstempeln vergessen",
            "month": "2026-03",
        },
    )
    assert r.status_code == 422
    assert "2026-03 ist abgeschlossen" in r.text and "Stempelungen vom 02.03.2026" in r.text
    assert 'value="2026-03-02T17:00"' in r.text and 'value="Ausstempeln vergessen"' in r.text
    assert session.exec(select(PunchCorrection)).all() == []
    # accepted: back to the employee page
    periods.reopen(session, world.a.id, 2026, 3, "test", reason="Korrektur")
    session.commit()
    data = {"action": "add", "at": "2026-03-02T17:00", "reason": "Ausstempeln vergessen", "month": "2026-03"}
    r = c.post(url, headers=HTML, follow_redirects=False, data=data)
    assert r.status_code == 303 and len(session.exec(select(PunchCorrection)).all()) == 1
