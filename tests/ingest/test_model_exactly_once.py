"""A model-based proof of exactly once, beyond examples: Hypothesis drives the
real journal, the real sender and the real ingest service (real SQLite)
through any interleaving of taps, publishes, broker drops, duplicates and
reorderings, worker crashes before and after commit, acks lost or late,
kiosk power cuts and reboots, and batches pipelined ahead of the first (as a
kiosk with several batches in flight sends them). The broker is modelled as the sets of messages
in flight each way; everything else is production code.

After every step: each punch the kiosk fed back as accepted is stored exactly
once or still in its journal; nothing the journal freed is missing from the
database; no seq is ever reused; nothing is written off as lost. At the end
the network heals and every accepted punch must be stored, once."""

import itertools
import shutil
import uuid

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from noxus.core.db import make_engine
from noxus.fleet.models import Kiosk as KioskRow
from noxus.ingest.models import DeadLetter, IngestCursor, Punch
from sqlmodel import Session, func, select

from tests.ingest.rig import Backend, Kiosk

T0 = 1_767_225_600_000
ACK_WAIT_MS = 6000  # past the sender's 5 s ack timeout: it sends again


def test_any_interleaving_of_faults_stores_every_accepted_punch_exactly_once(sqlite_template, tmp_path):
    runs = itertools.count()

    class ExactlyOnce(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            root = tmp_path / f"run{next(runs)}-{uuid.uuid4().hex[:6]}"
            root.mkdir()
            shutil.copy(sqlite_template, root / "noxus.db")
            self.engine = make_engine(f"sqlite:///{root / 'noxus.db'}")
            with Session(self.engine) as s:
                s.add(KioskRow(id="K1"))
                s.commit()
            self.backend = Backend(self.engine)
            self.kiosk = Kiosk("K1", root / "flash", seg_records=4, batch_max=3)
            self.up = []  # kiosk -> backend, in flight at the broker
            self.down = []  # acks, backend -> kiosk
            self.accepted = {}  # uid -> (epoch, seq) fed back as accepted
            self.taps = 0

        # -- kiosk ---------------------------------------------------------
        @rule(n=st.integers(1, 3))
        def tap(self, n):
            for _ in range(n):
                self.taps += 1
                p = self.kiosk.tap(self.taps, T0 + self.taps * 1000)
                key = (self.kiosk.journal.epoch, p.seq)
                assert key not in self.accepted.values(), f"seq {p.seq} reused"
                self.accepted[p.uid] = key

        @rule(wait=st.sampled_from([0, 100, ACK_WAIT_MS]))
        def poll(self, wait):
            self.kiosk.poll(wait)
            self.up += self.kiosk.take()

        @rule(skip=st.integers(1, 6), n=st.integers(1, 3))
        def pipeline_ahead(self, skip, n):
            """A later batch in flight before the first is acked (several batches in flight)."""
            self.kiosk.send_ahead(skip, n)
            self.up += self.kiosk.take()

        @rule()
        def power_cut(self):
            self.kiosk.power_cut()  # RAM (the MQTT client's queue) gone, flash stays

        @rule()
        def reconnect(self):
            self.kiosk.sender.link_up()

        # -- broker --------------------------------------------------------
        @rule(data=st.data())
        def broker_drops(self, data):
            if self.up:
                self.up.pop(data.draw(st.integers(0, len(self.up) - 1)))

        @rule(data=st.data())
        def broker_duplicates(self, data):
            if self.up:
                self.up.append(self.up[data.draw(st.integers(0, len(self.up) - 1))])

        @rule(data=st.data())
        def ack_lost(self, data):
            if self.down:
                self.down.pop(data.draw(st.integers(0, len(self.down) - 1)))

        @rule(data=st.data())
        def ack_delivered(self, data):
            """Any queued ack, in any order (two workers may ack out of order)."""
            if self.down:
                self.kiosk.on_ack(self.down.pop(data.draw(st.integers(0, len(self.down) - 1))))

        # -- ingest worker -------------------------------------------------
        def _group(self, data):
            if not self.up:
                return []
            picks = data.draw(st.lists(st.integers(0, len(self.up) - 1), min_size=1, max_size=3, unique=True))
            return [self.up[i] for i in picks]  # in the drawn order: reordered

        def _forget(self, group):
            for m in group:
                self.up.remove(m)

        @rule(data=st.data())
        def worker_commits(self, data):
            group = self._group(data)
            if group:
                self.down += self.backend.commit(group)
                self._forget(group)  # PUBACKed

        @rule(data=st.data())
        def worker_crashes_before_commit(self, data):
            group = self._group(data)
            if group:
                with Session(self.engine) as s:
                    from noxus.ingest.service import ingest

                    ingest(s, group)
                    s.rollback()  # killed: nothing committed, nothing PUBACKed, redelivered

        @rule(data=st.data())
        def worker_crashes_after_commit(self, data):
            group = self._group(data)
            if group:
                self.backend.commit(group)  # committed, but neither PUBACK nor app ack went out

        # -- what must always hold -----------------------------------------
        def _stored(self):
            with Session(self.engine) as s:
                return s.exec(select(Punch.badge_uid, Punch.epoch, Punch.seq)).all()

        @invariant()
        def accepted_punches_are_stored_once_or_still_journaled(self):
            stored = self._stored()
            uids = [u for u, _, _ in stored]
            assert len(uids) == len(set(uids)), "a punch was stored twice"
            held = {p.seq for p in self.kiosk.journal.unacked(10**6)}
            journal = self.kiosk.journal
            for uid, (epoch, seq) in self.accepted.items():
                in_db = uid in set(uids)
                assert in_db or seq in held, f"accepted punch seq {seq} is neither stored nor journaled"
                if epoch == journal.epoch and seq <= journal.acked:
                    assert in_db, f"the journal freed seq {seq}, which the backend does not have"
            assert {(e, s) for _, e, s in stored} <= set(self.accepted.values())

        @invariant()
        def nothing_is_written_off_or_dead_lettered(self):
            with Session(self.engine) as s:
                assert s.exec(select(func.coalesce(func.sum(IngestCursor.lost), 0))).one() == 0
                assert s.exec(select(func.count()).select_from(DeadLetter)).one() == 0

        def teardown(self):
            try:
                # The network heals: the kiosk drains its journal to the end.
                for _ in range(200):
                    if not self.kiosk.journal.pending():
                        break
                    self.kiosk.sender.link_up()
                    self.kiosk.poll(ACK_WAIT_MS)
                    self.up += self.kiosk.take()
                    if self.up:
                        self.down += self.backend.commit(self.up)
                        self.up = []
                    for ack in self.down:
                        self.kiosk.on_ack(ack)
                    self.down = []
                assert self.kiosk.journal.pending() == 0
                stored = self._stored()
                assert sorted(u for u, _, _ in stored) == sorted(self.accepted)
            finally:
                self.kiosk.journal.close()
                self.engine.dispose()

    run_state_machine_as_test(
        ExactlyOnce,
        settings=settings(
            max_examples=60,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
