"""A recorded breach starts the 72 h clock and tells the responsible person
at once through the outbox; restriction of processing is a request kind."""

from datetime import UTC, datetime, timedelta

from noxus.core.outbox import OutboxMail
from noxus.core.principal import Principal, Role
from noxus.core.security import Scope
from noxus.core.settings import Settings
from noxus.privacy import registers
from noxus.privacy.models import BreachCreate, DataSubjectRequestCreate
from noxus.tenancy.models import Customer
from sqlmodel import Session, select

ADMIN = Principal(user_id=None, username="dpo", role=Role.ADMIN, via="test")


def test_recording_a_breach_starts_the_72h_clock_and_mails_the_responsible_person(engine):
    settings = Settings(breach_contact_email="dpo@noxus.ch")
    detected = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    with Session(engine) as s:
        b = registers.record_breach(
            s, BreachCreate(detected_at=detected, description="laptop stolen"), ADMIN, settings
        )
        s.commit()
        assert b.notify_deadline_at == detected + timedelta(hours=72)
        [mail] = s.exec(select(OutboxMail).where(OutboxMail.category == "breach")).all()
    assert mail.to_addr == "dpo@noxus.ch"
    assert "2026-12-03 09:00" in mail.subject and "laptop stolen" in mail.body


def test_restriction_of_processing_is_a_data_subject_request_kind(engine):
    with Session(engine) as s:
        c = Customer(name="Alpha SA")
        s.add(c)
        s.flush()
        r = registers.open_dsr(
            s,
            Scope.everything(),
            DataSubjectRequestCreate(customer_id=c.id, subject="Anne Muller", kind="restriction"),
            ADMIN,
            Settings(),
        )
        s.commit()
        assert r.kind == "restriction"
