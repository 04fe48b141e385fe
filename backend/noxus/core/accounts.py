"""Users, bearer tokens, web sessions and the log-in guard (lock-out, per-IP rate limit).

Plain functions taking a session; routers and the CLI call them and commit."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from noxus.core.passwords import hash_password, verify_password
from noxus.core.principal import CUSTOMER_ROLES, Principal, Role
from noxus.core.settings import Settings
from noxus.core.types import aware, id_of, utcnow
from noxus.core.users import ApiToken, Invitation, LoginAttempt, User, UserCreate, WebSession

TOKEN_PREFIX = "nxt_"
LAST_USED_GRANULARITY = timedelta(minutes=5)  # avoid a write on every API call


class AccountError(ValueError):
    """A request about accounts that cannot be honoured; the message says why."""


def _sha256(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


# --- users --------------------------------------------------------------------------------------


def create_user(session: Session, data: UserCreate) -> User:
    try:
        role = Role(data.role)
    except ValueError:
        raise AccountError(
            f"unknown role {data.role!r}; use one of " + ", ".join(r.value for r in Role)
        ) from None
    if role in CUSTOMER_ROLES and data.customer_id is None:
        raise AccountError(f"role {role.value} is a customer role: give the customer_id")
    if role not in CUSTOMER_ROLES and data.customer_id is not None:
        raise AccountError(f"role {role.value} is NOXUS staff: it must not have a customer_id")
    username = data.username.lower()
    if session.exec(select(User).where(User.username == username)).first():
        raise AccountError(f"user {username!r} already exists")
    user = User(
        username=username,
        full_name=data.full_name,
        role=role.value,
        customer_id=data.customer_id,
        password_hash=hash_password(data.password) if data.password else None,
    )
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == username.lower())).first()


def set_password(session: Session, user: User, password: str) -> None:
    if len(password) < 12:
        raise AccountError("passwords need at least 12 characters")
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)


def principal_of(user: User, via: str, credential_id: int | None, csrf: str | None = None) -> Principal:
    return Principal(
        user_id=user.id,
        username=user.username,
        role=Role(user.role),
        customer_id=user.customer_id,
        via=via,
        credential_id=credential_id,
        csrf_token=csrf,
        language=user.language,
    )


# --- log-in guard -------------------------------------------------------------------------------


@dataclass
class LoginResult:
    user: User | None
    reason: str  # "ok" or why it failed (recorded in the security log)
    retry_after_s: int = 0

    @property
    def ok(self) -> bool:
        return self.user is not None


def ip_failures(session: Session, ip: str, settings: Settings) -> int:
    since = utcnow() - timedelta(minutes=settings.login_ip_window_minutes)
    stmt = select(func.count()).where(
        LoginAttempt.ip == ip, col(LoginAttempt.success).is_(False), LoginAttempt.at >= since
    )
    return session.exec(stmt).one()


def authenticate(session: Session, settings: Settings, username: str, password: str, ip: str) -> LoginResult:
    """Check a password, with per-IP rate limiting and per-account lock-out; every attempt is
    recorded (IP, time, outcome). The caller commits."""
    username = (username or "").strip().lower()[:120]
    ip = (ip or "?")[:64]
    now = utcnow()

    def record(success: bool, reason: str) -> None:
        session.add(LoginAttempt(at=now, username=username, ip=ip, success=success, reason=reason))

    if ip_failures(session, ip, settings) >= settings.login_ip_max_failures:
        record(False, "rate_limited")
        return LoginResult(None, "rate_limited", settings.login_ip_window_minutes * 60)

    user = get_user(session, username)
    if user is not None and user.locked_until is not None and aware(user.locked_until) > now:
        record(False, "locked")
        return LoginResult(None, "locked", int((aware(user.locked_until) - now).total_seconds()) + 1)

    ok, new_hash = verify_password(password or "", user.password_hash if user else None)
    if user is None:
        record(False, "unknown_user")
        return LoginResult(None, "bad_credentials")
    if not ok or not user.active:
        reason = "bad_password" if not ok else "inactive"
        user.failed_logins += 1
        if user.failed_logins >= settings.login_max_failures:
            user.locked_until = now + timedelta(minutes=settings.login_lockout_minutes)
            user.failed_logins = 0
            reason += "+locked"
        session.add(user)
        record(False, reason)
        return LoginResult(None, "bad_credentials")
    if new_hash:
        user.password_hash = new_hash
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    record(True, "ok")
    return LoginResult(user, "ok")


def unlock(session: Session, user: User) -> None:
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)


# --- bearer tokens ------------------------------------------------------------------------------


def create_token(session: Session, user: User, name: str = "", days: int | None = 90) -> tuple[ApiToken, str]:
    """Returns the row and the secret, which is shown once and never stored."""
    assert user.id is not None, "a stored user"
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=_sha256(raw),
        prefix=raw[:12],
        expires_at=utcnow() + timedelta(days=days) if days else None,
    )
    session.add(token)
    session.flush()
    return token, raw


def revoke_token(session: Session, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.add(token)


def principal_from_token(session: Session, raw: str) -> Principal | None:
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    row = session.exec(
        select(ApiToken, User)
        .join(User, col(User.id) == ApiToken.user_id)
        .where(ApiToken.token_hash == _sha256(raw))
    ).first()
    if row is None:
        return None
    token, user = row
    now = utcnow()
    if token.revoked_at is not None or not user.active:
        return None
    if token.expires_at is not None and aware(token.expires_at) <= now:
        return None
    if token.last_used_at is None or now - aware(token.last_used_at) > LAST_USED_GRANULARITY:
        token.last_used_at = now
        session.add(token)
        session.commit()
    return principal_of(user, "token", token.id)


# --- web sessions -------------------------------------------------------------------------------


def create_web_session(
    session: Session, user: User, settings: Settings, ip: str = ""
) -> tuple[WebSession, str]:
    assert user.id is not None, "a stored user"
    raw = secrets.token_urlsafe(32)
    ws = WebSession(
        user_id=user.id,
        session_hash=_sha256(raw),
        csrf_token=secrets.token_urlsafe(32),
        expires_at=utcnow() + timedelta(hours=settings.session_hours),
        ip=ip[:64],
    )
    session.add(ws)
    session.flush()
    return ws, raw


def find_web_session(session: Session, raw: str) -> tuple[WebSession, User] | None:
    if not raw or len(raw) > 200:
        return None
    row = session.exec(
        select(WebSession, User)
        .join(User, col(User.id) == WebSession.user_id)
        .where(WebSession.session_hash == _sha256(raw))
    ).first()
    if row is None:
        return None
    ws, user = row
    if ws.revoked_at is not None or aware(ws.expires_at) <= utcnow() or not user.active:
        return None
    return ws, user


def principal_from_session(session: Session, raw: str) -> Principal | None:
    found = find_web_session(session, raw)
    if found is None:
        return None
    ws, user = found
    return principal_of(user, "session", ws.id, ws.csrf_token)


def revoke_web_session(session: Session, raw: str) -> None:
    ws = session.exec(select(WebSession).where(WebSession.session_hash == _sha256(raw))).first()
    if ws is not None and ws.revoked_at is None:
        ws.revoked_at = utcnow()
        session.add(ws)


def revoke_all_credentials(session: Session, user: User) -> None:
    """On deactivation or role change: every token and session of the user stops working."""
    now = utcnow()
    for t in session.exec(
        select(ApiToken).where(ApiToken.user_id == user.id, col(ApiToken.revoked_at).is_(None))
    ):
        t.revoked_at = now
        session.add(t)
    for s in session.exec(
        select(WebSession).where(WebSession.user_id == user.id, col(WebSession.revoked_at).is_(None))
    ):
        s.revoked_at = now
        session.add(s)


def csrf_matches(principal: Principal, sent: str | None) -> bool:
    if not sent or not principal.csrf_token:
        return False
    return hmac.compare_digest(str(sent), principal.csrf_token)


# --- invitations (a one-time link to set the password) ------------------------------------------


def create_invitation(session: Session, user: User, actor: str, hours: int) -> tuple[Invitation, str]:
    """A new one-time link for `user`; earlier unused links of the user stop working. Returns the
    row and the raw token (it goes into the e-mail, never into the database)."""
    now = utcnow()
    for old in session.exec(
        select(Invitation).where(
            Invitation.user_id == user.id,
            col(Invitation.used_at).is_(None),
            col(Invitation.revoked_at).is_(None),
        )
    ):
        old.revoked_at = now
        session.add(old)
    raw = secrets.token_urlsafe(32)
    inv = Invitation(
        user_id=id_of(user),
        token_hash=_sha256(raw),
        created_by=actor[:120],
        expires_at=now + timedelta(hours=hours),
    )
    session.add(inv)
    session.flush()
    return inv, raw


def find_invitation(session: Session, raw: str) -> tuple[Invitation, User] | None:
    """The invitation of a link, if it may still be used (not used, not replaced, not expired, the
    user active)."""
    if not raw or len(raw) > 200:
        return None
    row = session.exec(
        select(Invitation, User)
        .join(User, col(User.id) == col(Invitation.user_id))
        .where(Invitation.token_hash == _sha256(raw))
    ).first()
    if row is None:
        return None
    inv, user = row
    if inv.used_at is not None or inv.revoked_at is not None or aware(inv.expires_at) <= utcnow():
        return None
    if not user.active:
        return None
    return inv, user


def accept_invitation(session: Session, raw: str, password: str) -> User:
    found = find_invitation(session, raw)
    if found is None:
        raise AccountError("this invitation link is expired, already used or replaced by a newer one")
    inv, user = found
    set_password(session, user, password)
    inv.used_at = utcnow()
    session.add(inv)
    revoke_all_credentials(session, user)
    return user
