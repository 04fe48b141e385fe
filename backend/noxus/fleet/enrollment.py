"""Kiosk enrollment (issue 8): place a board in the asset register at a
customer's site, mint its own MQTT account, and the claim-code alternative
for kiosks installed by someone without a technician token.

Plain functions taking a session; enrollment_router.py is the HTTP face and
noxus-provision (provisioning/) the technician's client. docs/provisioning.md."""

import hashlib
import pathlib
import re
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, StringConstraints
from sqlmodel import Field, Session, SQLModel, col, select

from noxus.core.audit import record as audit
from noxus.core.settings import Settings, split_node
from noxus.core.types import aware, id_of, utcnow
from noxus.fleet import service as fleet
from noxus.fleet import status as fleet_status
from noxus.fleet.enrollment_mqtt import BrokerConfigError, PasswordFile, new_password
from noxus.fleet.models import ClaimStatus, Kiosk, KioskClaim, KioskCreate, KioskCredential, KioskStatus
from noxus.tenancy.models import Site

UID_RE = re.compile(r"^[0-9A-F]{8,64}$")  # Pico: 8-byte flash ID; Pi: CPU serial
CODE_RE = re.compile(r"^[A-Z0-9]{8,32}$")
MODELS = ("pico-w", "pi", "sim")


class EnrollmentError(ValueError):
    """Refused; `status_code` is the HTTP answer and the message says what to do."""

    def __init__(self, message: str, status_code: int = 409):
        super().__init__(message)
        self.status_code = status_code


# --- schemas ------------------------------------------------------------------------------------


def _check_model(v: str) -> str:
    if v not in MODELS:
        raise ValueError(f"model {v!r} unknown: one of {', '.join(MODELS)}")
    return v


def normalize_uid(uid: str) -> str:
    u = uid.strip().upper().replace(":", "").replace("-", "")
    if not UID_RE.match(u):
        raise EnrollmentError(
            f"board id {uid!r} is not 8..64 hex digits (read it with `noxus-provision list`)", 422
        )
    return u


def normalize_code(code: str) -> str:
    c = code.strip().upper().replace("-", "").replace(" ", "")
    if not CODE_RE.match(c):
        raise EnrollmentError("a claim code is 8..32 letters and digits (dashes allowed)", 422)
    return c


# the fields several requests share, each checked and written in one form
BoardUid = Annotated[str, StringConstraints(max_length=80), AfterValidator(normalize_uid)]
ClaimCode = Annotated[str, StringConstraints(max_length=40), AfterValidator(normalize_code)]
BoardModel = Annotated[str, StringConstraints(max_length=16), AfterValidator(_check_model)]
KIOSK_ID = r"^[A-Za-z0-9_-]{1,32}$"


class KioskEnroll(SQLModel):
    board_uid: BoardUid
    site_id: int
    customer_id: int | None = None  # checked against the site's customer when given
    kiosk_id: str | None = Field(default=None, max_length=32, regex=KIOSK_ID)
    name: str = Field(default="", max_length=120)
    model: BoardModel = "pico-w"


class MqttNode(SQLModel):
    host: str
    port: int


class MqttAccount(SQLModel):
    host: str  # the first node when there are several (clients that know only one)
    port: int
    nodes: list[MqttNode] | None = None  # a cluster's nodes (kiosk.json broker.nodes), in order
    tls: bool
    username: str
    password: str
    ca_pem: str | None = None  # the CA the kiosk pins (public), when tls
    server_hostname: str | None = None  # the name on the broker's certificate, if not host


class KioskEnrolled(SQLModel):
    kiosk_id: str
    name: str
    board_uid: str
    customer_id: int
    site_id: int
    site_timezone: str
    enrolled_at: datetime
    mqtt: MqttAccount | None = None


class ClaimRedeem(SQLModel):
    board_uid: BoardUid
    code: ClaimCode


class ClaimOpen(ClaimRedeem):
    model: BoardModel = "pico-w"


class ClaimApprove(SQLModel):
    code: ClaimCode
    site_id: int
    customer_id: int | None = None
    name: str = Field(default="", max_length=120)
    kiosk_id: str | None = Field(default=None, max_length=32, regex=KIOSK_ID)


class ClaimPublic(SQLModel):
    id: int
    board_uid: str
    model: str
    status: str
    created_at: datetime
    expires_at: datetime
    kiosk_id: str | None
    approved_by: str | None


# --- placing a board ----------------------------------------------------------------------------


def default_kiosk_id(board_uid: str) -> str:
    return "nx-" + board_uid.lower()[:29]


def _site(session: Session, site_id: int, customer_id: int | None) -> Site:
    site = session.get(Site, site_id)
    if site is None:
        raise EnrollmentError(f"site {site_id} does not exist: create it first (or check the id)", 404)
    if customer_id is not None and site.customer_id != customer_id:
        raise EnrollmentError(f"site {site_id} belongs to customer {site.customer_id}, not {customer_id}")
    return site


def place_kiosk(session: Session, data: KioskEnroll, actor: str) -> Kiosk:
    """Register the board (once) and deploy it at the site. Rerunning with the same
    board and site changes nothing; another site of the same customer is a move;
    a board deployed at another customer is refused."""
    uid = normalize_uid(data.board_uid)
    site = _site(session, data.site_id, data.customer_id)
    kiosk = session.exec(select(Kiosk).where(Kiosk.serial == uid)).first()
    if kiosk is not None and data.kiosk_id and kiosk.id != data.kiosk_id:
        raise EnrollmentError(
            f"board {uid} is already kiosk {kiosk.id}: enroll it under that id "
            "(omit --kiosk-id), or retire that kiosk first"
        )
    if kiosk is None:
        kiosk_id = data.kiosk_id or default_kiosk_id(uid)
        other = session.get(Kiosk, kiosk_id)
        if other is not None and other.serial not in (None, uid):
            raise EnrollmentError(f"kiosk id {kiosk_id} belongs to board {other.serial}: choose another id")
        kiosk = fleet.register(
            session, KioskCreate(id=kiosk_id, name=data.name, serial=uid, model=data.model), actor=actor
        )
        session.flush()
    elif data.name:
        kiosk.name = data.name

    st = KioskStatus(kiosk.status)
    if st in fleet_status.AT_CUSTOMER:
        if kiosk.customer_id != site.customer_id:
            raise EnrollmentError(
                f"board {uid} is kiosk {kiosk.id}, enrolled to customer {kiosk.customer_id} "
                f"(site {kiosk.site_id}). To move it to customer {site.customer_id}, record its "
                "retrieval first (fleet: status retrieved, then in_stock), then enroll it again."
            )
        if kiosk.site_id != site.id and st == KioskStatus.DEPLOYED:
            fleet_status.change_status(
                session,
                kiosk,
                KioskStatus.DEPLOYED,
                actor,
                site_id=id_of(site),
                reason="moved by noxus-provision enroll",
            )
        return kiosk
    if st == KioskStatus.RETRIEVED:  # back at NOXUS and refurbished: through stock to the new site
        fleet_status.change_status(
            session, kiosk, KioskStatus.IN_STOCK, actor, reason="re-enrolled by noxus-provision"
        )
    elif st != KioskStatus.IN_STOCK:
        raise EnrollmentError(
            f"kiosk {kiosk.id} (board {uid}) is {st.value}: put it back in stock in the "
            "fleet register before enrolling it"
        )
    fleet_status.change_status(
        session, kiosk, KioskStatus.DEPLOYED, actor, site_id=site.id, reason="enrolled by noxus-provision"
    )
    return kiosk


# --- MQTT accounts ------------------------------------------------------------------------------


def kiosk_ca_pem(settings: Settings) -> str | None:
    """The CA kiosks pin, installed with their config; required when kiosks use TLS."""
    if not settings.kiosk_mqtt_tls:
        return None
    if not settings.kiosk_mqtt_ca_file:
        raise BrokerConfigError(
            "kiosks connect over TLS (NOXUS_KIOSK_MQTT_TLS) but no CA to pin is set: "
            "set NOXUS_KIOSK_MQTT_CA_FILE to the broker's CA (PEM), see docs/security.md"
        )
    try:
        return pathlib.Path(settings.kiosk_mqtt_ca_file).read_text()
    except OSError as e:
        raise BrokerConfigError(f"NOXUS_KIOSK_MQTT_CA_FILE cannot be read: {e}") from None


def mint_credentials(
    session: Session, settings: Settings, kiosk: Kiosk, actor: str, store: PasswordFile | None = None
) -> MqttAccount:
    """A fresh password for the kiosk's own account (user name = kiosk id), returned once."""
    ca_pem = kiosk_ca_pem(settings)
    store = store or PasswordFile.from_settings(settings)
    password = new_password()
    store.set(kiosk.id, password)
    row = session.get(KioskCredential, kiosk.id)
    if row is None:
        row = KioskCredential(kiosk_id=kiosk.id, username=kiosk.id, minted_by=actor[:120], mints=0)
    row.minted_at, row.minted_by, row.revoked_at = utcnow(), actor[:120], None
    row.mints += 1
    session.add(row)
    nodes = [
        MqttNode(host=h, port=p)
        for h, p in (split_node(n, settings.kiosk_mqtt_port) for n in settings.kiosk_mqtt_nodes)
    ]
    first = nodes[0] if nodes else MqttNode(host=settings.kiosk_mqtt_host, port=settings.kiosk_mqtt_port)
    return MqttAccount(
        host=first.host,
        port=first.port,
        nodes=nodes or None,
        tls=settings.kiosk_mqtt_tls,
        username=kiosk.id,
        password=password,
        ca_pem=ca_pem,
        server_hostname=settings.kiosk_mqtt_server_hostname,
    )


def revoke_credentials(
    session: Session, settings: Settings, kiosk_id: str, store: PasswordFile | None = None
) -> None:
    """The kiosk can no longer connect (retrieved, stolen, replaced)."""
    store = store or PasswordFile.from_settings(settings)
    store.remove(kiosk_id)
    row = session.get(KioskCredential, kiosk_id)
    if row is not None:
        row.revoked_at = utcnow()
        session.add(row)


def enrolled(session: Session, kiosk: Kiosk, mqtt: MqttAccount | None) -> KioskEnrolled:
    site = session.get(Site, kiosk.site_id) if kiosk.site_id is not None else None
    if site is None or kiosk.customer_id is None:
        raise EnrollmentError(f"kiosk {kiosk.id} is not placed at a site: enroll it at one first")
    return KioskEnrolled(
        kiosk_id=kiosk.id,
        name=kiosk.name,
        board_uid=kiosk.serial or "",
        customer_id=kiosk.customer_id,
        site_id=id_of(site),
        site_timezone=site.timezone,
        enrolled_at=kiosk.installed_at or utcnow(),
        mqtt=mqtt,
    )


def issue(
    session: Session, settings: Settings, kiosk: Kiosk, actor: str, store: PasswordFile | None = None
) -> KioskEnrolled:
    """The one way a kiosk gets credentials (technician's enroll or a redeemed claim):
    a fresh password, the CA to pin, its placement."""
    return enrolled(session, kiosk, mint_credentials(session, settings, kiosk, actor, store))


def enroll(
    session: Session, settings: Settings, data: KioskEnroll, actor: str, store: PasswordFile | None = None
) -> KioskEnrolled:
    return issue(session, settings, place_kiosk(session, data, actor), actor, store)


# --- claim codes --------------------------------------------------------------------------------


def _code_hash(code: str) -> str:
    return hashlib.sha256(normalize_code(code).encode()).hexdigest()


def open_claim(session: Session, settings: Settings, data: ClaimOpen) -> KioskClaim:
    """A kiosk without credentials announces itself with the code on its display."""
    uid, h = normalize_uid(data.board_uid), _code_hash(data.code)
    same = session.exec(select(KioskClaim).where(KioskClaim.code_hash == h)).first()
    if same is not None:
        if same.board_uid == uid and same.status == ClaimStatus.PENDING:
            return same  # the kiosk retried: idempotent
        raise EnrollmentError("this claim code is already in use: the kiosk must draw a new one")
    for old in session.exec(
        select(KioskClaim).where(KioskClaim.board_uid == uid, KioskClaim.status == ClaimStatus.PENDING)
    ):
        if aware(old.expires_at) > utcnow():
            # Whoever knows a board id must not replace the code a genuine kiosk shows.
            raise EnrollmentError(
                f"board {uid} already waits with another claim code (since {old.created_at:%Y-%m-%d %H:%M} "
                "UTC): a technician must cancel that claim at /enrollment/claims before a new code counts"
            )
        old.status = ClaimStatus.SUPERSEDED  # expired: a new code may replace it
        session.add(old)
    claim = KioskClaim(
        code_hash=h,
        board_uid=uid,
        model=data.model,
        expires_at=utcnow() + timedelta(hours=settings.claim_ttl_hours),
    )
    session.add(claim)
    session.flush()
    return claim


def _claim_by_code(session: Session, code: str) -> KioskClaim:
    claim = session.exec(select(KioskClaim).where(KioskClaim.code_hash == _code_hash(code))).first()
    if claim is None or claim.status == ClaimStatus.SUPERSEDED:
        raise EnrollmentError("no kiosk waits with this claim code: check the code on its display", 404)
    return claim


def approve_claim(session: Session, data: ClaimApprove, actor: str) -> KioskClaim:
    claim = _claim_by_code(session, data.code)
    if claim.status != ClaimStatus.PENDING:
        raise EnrollmentError(f"this claim was already {claim.status} (kiosk {claim.kiosk_id})")
    if aware(claim.expires_at) <= utcnow():
        raise EnrollmentError("this claim code expired: restart the kiosk to draw a new one", 410)
    kiosk = place_kiosk(
        session,
        KioskEnroll(
            board_uid=claim.board_uid,
            site_id=data.site_id,
            customer_id=data.customer_id,
            kiosk_id=data.kiosk_id,
            name=data.name,
            model=claim.model,
        ),
        actor,
    )
    claim.status, claim.kiosk_id = ClaimStatus.APPROVED, kiosk.id
    claim.approved_by, claim.approved_at = actor[:120], utcnow()
    session.add(claim)
    return claim


def redeem_claim(
    session: Session, settings: Settings, data: ClaimRedeem, store: PasswordFile | None = None
) -> KioskEnrolled | None:
    """The kiosk's poll: None while pending; its config once approved; then never again."""
    claim = _claim_by_code(session, data.code)
    if claim.board_uid != normalize_uid(data.board_uid):
        raise EnrollmentError("no kiosk waits with this claim code: check the code on its display", 404)
    if claim.status == ClaimStatus.DELIVERED:
        raise EnrollmentError(
            "the credentials for this claim were already delivered; if the kiosk lost "
            "them, a technician must enroll it again",
            410,
        )
    if claim.status == ClaimStatus.PENDING:
        if aware(claim.expires_at) <= utcnow():
            raise EnrollmentError("this claim code expired: restart the kiosk to draw a new one", 410)
        return None
    kiosk = session.get(Kiosk, claim.kiosk_id) if claim.kiosk_id else None
    if kiosk is None:
        raise EnrollmentError(f"the kiosk of claim {claim.id} no longer exists: enroll the board again", 410)
    result = issue(session, settings, kiosk, "claim:" + str(claim.id), store)
    claim.status, claim.delivered_at = ClaimStatus.DELIVERED, utcnow()
    session.add(claim)
    return result


def cancel_claim(session: Session, claim_id: int, actor: str) -> KioskClaim:
    """Staff confirm that a pending claim is not genuine (or the kiosk drew a new code):
    the board may then announce another code."""
    claim = session.get(KioskClaim, claim_id)
    if claim is None or claim.status != ClaimStatus.PENDING:
        raise EnrollmentError(f"claim {claim_id} is not pending: nothing to cancel", 404)
    claim.status, claim.approved_by = ClaimStatus.SUPERSEDED, ("cancelled by " + actor)[:120]
    session.add(claim)
    audit(session, actor, "kiosk_claim.cancel", "kiosk_claim", claim.id, None, {"board_uid": claim.board_uid})
    return claim


def pending_claim(session: Session, claim_id: int) -> KioskClaim:
    claim = session.get(KioskClaim, claim_id)
    if claim is None or claim.status != ClaimStatus.PENDING or aware(claim.expires_at) <= utcnow():
        raise EnrollmentError(f"claim {claim_id} is not pending: nothing to cancel", 404)
    return claim


def list_claims(session: Session, pending_only: bool = True) -> list[KioskClaim]:
    q = select(KioskClaim).order_by(col(KioskClaim.created_at).desc())
    if pending_only:
        q = q.where(KioskClaim.status == ClaimStatus.PENDING, KioskClaim.expires_at > utcnow())
    return list(session.exec(q))
