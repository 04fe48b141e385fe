"""The demo's mailbox (devstack/mailbox.py): what the backend sends in `make run` is kept as .eml
files with its links shown, so a demo user can open an invitation's one-time link, which the
outbox pages never show."""

from noxus.core import outbox
from noxus.core.outbox import MailStatus, OutboxMail
from noxus.core.settings import Settings
from sqlmodel import Session, select

from devstack.mailbox import Mailbox


def test_mails_the_demo_sends_are_kept_with_their_links(engine, tmp_path):
    told = []
    box = Mailbox(tmp_path / "mail", lambda *a: told.append(a)).start()
    try:
        link = "http://127.0.0.1:8000/invitation/tok3n-Abc_123"
        with Session(engine) as s:
            outbox.enqueue(
                s,
                "rh@leman.example",
                "Votre compte NoxusTime",
                f"Bonjour,\n\n{link}\n",
                category="invitation",
            )
            outbox.enqueue(s, "compta@aare.example", "Rechnung 2026-0001", "Guten Tag\n")
            s.commit()
            assert outbox.deliver(s, Settings(_env_file=None, smtp_port=box.port)) == 2
            s.commit()
            mails = s.exec(select(OutboxMail).order_by(OutboxMail.id)).all()
            assert [m.status for m in mails] == [MailStatus.SENT, MailStatus.SENT]
            assert "tok3n" not in mails[0].body  # sent: the stored body lost its token
    finally:
        box.stop()
    kept = sorted((tmp_path / "mail").glob("*.eml"))
    assert [p.name for p in kept] == ["0001.eml", "0002.eml"]
    (to, subject, path, links), second = told
    assert (to, subject, path, links) == ("rh@leman.example", "Votre compte NoxusTime", kept[0], [link])
    assert second[:2] == ("compta@aare.example", "Rechnung 2026-0001") and second[3] == []
    # a restarted demo numbers after what it kept
    again = Mailbox(tmp_path / "mail", lambda *a: told.append(a))
    assert next(again._controller.handler.count) == 3
