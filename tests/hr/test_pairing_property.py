"""Timesheet pairing is a function of the punches, not of their arrival: any
permutation of the same raw punches reaching the database (other ids, other
arrival times, late batches) gives the same timesheet."""

import itertools
import shutil
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from noxus.core.db import make_engine
from noxus.core.settings import Settings
from noxus.fleet.models import Kiosk
from noxus.hr import timesheets
from noxus.ingest.models import Punch
from sqlmodel import Session

from tests.support.records import add_customer, add_employee

from .conftest import zh

S = Settings()
NOW = datetime(2030, 1, 1, tzinfo=UTC)
FIRST, LAST = date(2026, 3, 2), date(2026, 3, 8)
BASE = zh(2026, 3, 2, 0)
# Taps over a week, minute resolution (double taps and night shifts included).
TAPS = st.lists(st.integers(0, 7 * 24 * 60 - 1), min_size=1, max_size=24, unique=True)
runs = itertools.count()


def timesheet(template, tmp_path, minutes, order, arrival_delay):
    db = tmp_path / f"p{next(runs)}.db"
    shutil.copy(template, db)
    engine = make_engine(f"sqlite:///{db}")
    try:
        with Session(engine) as s:
            s.add(Kiosk(id="K1"))
            c = add_customer(s)
            e = add_employee(s, c.id, "A", "B", badge="04A1B2C3")
            for seq, i in enumerate(order, 1):  # arrival order = insertion order = ids
                at = BASE + timedelta(minutes=minutes[i])
                s.add(
                    Punch(
                        kiosk_id="K1",
                        seq=seq,
                        badge_uid="04A1B2C3",
                        ts=at,
                        received_at=at + timedelta(minutes=arrival_delay[i]),
                    )
                )
                s.flush()
            s.commit()
            [sheet] = timesheets.compute(s, c.id, [e], FIRST, LAST, S, now=NOW)
            return (
                [(d.day, d.worked_seconds, d.break_seconds, sorted(d.exceptions)) for d in sheet.days],
                [(p.at, p.direction, p.merged, p.voided) for p in sheet.punches],
            )
    finally:
        engine.dispose()


@settings(
    max_examples=25, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
@given(data=st.data(), minutes=TAPS)
def test_any_arrival_order_of_the_same_punches_gives_the_same_timesheet(
    sqlite_template, tmp_path, data, minutes
):
    n = len(minutes)
    order = data.draw(st.permutations(range(n)))
    delays = data.draw(st.lists(st.integers(0, 3 * 24 * 60), min_size=n, max_size=n))
    in_order = timesheet(
        sqlite_template, tmp_path, minutes, sorted(range(n), key=minutes.__getitem__), [0] * n
    )
    assert timesheet(sqlite_template, tmp_path, minutes, order, delays) == in_order
