"""Three MicroPython kiosks x 500 taps -> real Mosquitto -> ingest -> database,
through a backend SIGKILL, a broker restart and a kiosk offline for most of
the run: every punch stored exactly once, every journal acked to its end."""

import pytest
from noxus.ingest.models import DeadLetter, IngestCursor, Punch
from sqlmodel import func, select

from tests.e2e.stack import Stack

TAPS = 500
KIOSKS = ("K1", "K2", "K3")

pytestmark = pytest.mark.slow


@pytest.fixture
def stack(tmp_path, db_url, private_broker):
    s = Stack(tmp_path, db_url, private_broker)
    s.register(*KIOSKS)
    yield s
    s.close()


def stored(stack, kiosk=None):
    q = select(func.count()).select_from(Punch)
    return stack.count(q.where(Punch.kiosk_id == kiosk) if kiosk else q)


def test_1500_taps_exactly_once_through_backend_kill_broker_restart_and_offline_kiosk(stack):
    # K3 is offline for most of the run: it records 450 taps to its journal only,
    # then loses power (the process ends).
    stack.start_kiosk("K3", 3, online=False, taps=450, exit_after_taps=True, exit_when_drained=False)
    assert stack.wait_kiosk("K3", 120)["last_seq"] == 450

    stack.start_worker()
    stack.start_kiosk("K1", 1)
    stack.start_kiosk("K2", 2)

    # Backend killed mid-stream (nothing acked that is not committed), restarted.
    stack.wait_until(lambda: stored(stack) >= 150, 60, "150 punches stored")
    stack.kill_worker()
    stack.start_worker()

    # Broker restarted mid-stream: kiosks and worker reconnect; persisted sessions survive.
    stack.wait_until(lambda: stored(stack) >= 500, 90, "500 punches stored")
    stack.broker.restart()

    # K3 boots again with network: 50 more taps, then its whole journal drains.
    stack.start_kiosk("K3", 3, taps=50, start_n=450)
    results = {k: stack.wait_kiosk(k, 240) for k in KIOSKS}

    assert stored(stack) == 3 * TAPS
    pairs = stack.rows(Punch, Punch.kiosk_id, Punch.seq)
    assert sorted(pairs) == sorted((k, s) for k in KIOSKS for s in range(1, TAPS + 1))
    for k in KIOSKS:
        assert results[k]["acked"] == results[k]["last_seq"] == TAPS, results[k]
        assert stack.journal_state(k)["acked"] == TAPS
    cursors = stack.rows(IngestCursor)
    assert {c.kiosk_id: c.acked_seq for c in cursors} == {k: TAPS for k in KIOSKS}
    assert sum(c.lost for c in cursors) == 0
    assert stack.count(select(func.count()).select_from(DeadLetter)) == 0
    # Every tap had its own badge: no punch was stored under another one's seq.
    assert len(set(stack.rows(Punch, Punch.badge_uid))) == 3 * TAPS
