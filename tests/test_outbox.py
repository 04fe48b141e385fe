"""The outbox of every context (noxus.core.outbox): claims, concurrent deliverers, leases,
cancel and retry — on SQLite and PostgreSQL, through a real local SMTP server (aiosmtpd)."""

import asyncio
import socket
import threading
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from noxus.core import outbox
from noxus.core.outbox import MailStatus, OutboxMail
from noxus.core.settings import Settings
from sqlalchemy import bindparam, text
from sqlmodel import Session, select

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """Records every message; the first one waits until `release` is set (so a second
    deliverer runs while the first is in the middle of sending its claimed batch)."""

    def __init__(self, hold_first: bool = False):
        self.ids: list[str] = []
        self.first_arrived = threading.Event()
        self.release = threading.Event()
        self.hold_first = hold_first

    async def handle_DATA(self, server, session, envelope):
        mid = next(line for line in envelope.content.decode().splitlines() if line.startswith("Message-ID"))
        if self.hold_first and not self.first_arrived.is_set():
            self.first_arrived.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)
        self.ids.append(mid)
        return "250 OK"


@pytest.fixture
def smtp():
    def start(hold_first=False):
        port = free_port()
        handler = Recorder(hold_first)
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        started.append(controller)
        return handler, Settings(_env_file=None, smtp_port=port)

    started: list[Controller] = []
    yield start
    for c in started:
        c.stop()


def queue(engine, n: int) -> list[int]:
    with Session(engine) as s:
        mails = [
            outbox.enqueue(s, f"user{i}@example.test", f"mail {i}", "body", category="test") for i in range(n)
        ]
        for m in mails:
            m.next_attempt_at = T0
        s.commit()
        return [m.id for m in mails]


def test_two_concurrent_deliverers_send_every_mail_exactly_once(engine, smtp):
    handler, settings = smtp(hold_first=True)
    ids = queue(engine, outbox.CLAIM_BATCH + 10)
    sent = {}

    def deliverer(name):
        with Session(engine) as s:
            sent[name] = outbox.deliver(s, settings, now=T0)

    first = threading.Thread(target=deliverer, args=("first",))
    first.start()
    assert handler.first_arrived.wait(60)  # the first deliverer has claimed its batch and is sending
    deliverer("second")  # runs while the first still holds its claim
    handler.release.set()
    first.join(60)
    assert sent == {"first": outbox.CLAIM_BATCH, "second": 10}
    assert len(handler.ids) == len(ids) and len(set(handler.ids)) == len(ids)
    with Session(engine) as s:
        assert {m.status for m in s.exec(select(OutboxMail))} == {MailStatus.SENT}


def test_a_claim_skips_rows_another_deliverer_is_claiming(engine):
    ids = queue(engine, 6)
    with Session(engine) as a, Session(engine) as b:
        if engine.dialect.name == "postgresql":
            # A holds row locks on the first three (its claim not yet committed): B does not wait
            # for them, it takes the others (FOR UPDATE SKIP LOCKED)
            a.execute(
                text("SELECT id FROM outbox_mail WHERE id IN :ids FOR UPDATE").bindparams(
                    bindparam("ids", expanding=True)
                ),
                {"ids": ids[:3]},
            )
            assert outbox.claim(b, T0) == ids[3:]
            a.rollback()
            assert outbox.claim(b, T0) == ids[:3]  # A gave them back without claiming
        else:
            # SQLite serializes writers: A's committed claim makes B's atomic UPDATE see them taken
            assert outbox.claim(a, T0, limit=3) == ids[:3]
            assert outbox.claim(b, T0) == ids[3:]
        assert outbox.claim(b, T0) == []


def test_a_dead_deliverers_claim_is_taken_over_after_its_lease(engine, smtp):
    handler, settings = smtp()
    (mail_id,) = queue(engine, 1)
    with Session(engine) as s:
        assert outbox.claim(s, T0) == [mail_id]  # ... and the deliverer dies here
        assert outbox.deliver(s, settings, now=T0 + timedelta(seconds=outbox.LEASE_S - 1)) == 0
        assert outbox.deliver(s, settings, now=T0 + timedelta(seconds=outbox.LEASE_S + 1)) == 1
    assert len(handler.ids) == 1


def test_failed_mail_can_be_retried_and_a_queued_one_cancelled(engine, smtp):
    handler, settings = smtp()
    a, b = queue(engine, 2)
    with Session(engine) as s:
        s.get(OutboxMail, a).status = MailStatus.FAILED
        outbox.cancel(s, b, "clerk")
        s.commit()
        assert outbox.deliver(s, settings, now=T0) == 0
        with pytest.raises(outbox.OutboxError, match="only a queued or failed mail can be cancelled"):
            outbox.cancel(s, b, "clerk")
        outbox.retry(s, a, now=T0)
        s.commit()
        assert outbox.deliver(s, settings, now=T0) == 1
        assert s.get(OutboxMail, b).status == MailStatus.CANCELLED
        with pytest.raises(outbox.OutboxError, match="only a failed or cancelled mail can be retried"):
            outbox.retry(s, a)
    assert len(handler.ids) == 1
