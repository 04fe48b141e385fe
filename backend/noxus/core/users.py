"""Tables of identity: users, API tokens, web sessions, log-in attempts (the security log)."""

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from noxus.core.types import BigIntPK, UTCDateTime, utcnow


class User(SQLModel, table=True):
    # "user" is reserved in PostgreSQL
    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=120, unique=True, index=True)  # stored lower-case
    full_name: str = Field(default="", max_length=200)
    role: str = Field(max_length=16)  # noxus.core.security.Role value
    # None for NOXUS staff; the tenant of a customer user
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    password_hash: str | None = Field(default=None, max_length=255)  # argon2id (PHC string)
    # fr/de/it/en; None: the customer's language, else the browser's (noxus.core.i18n)
    language: str | None = Field(default=None, max_length=2)
    email: str | None = Field(default=None, max_length=254)  # where invitations go
    active: bool = True
    failed_logins: int = 0  # consecutive, reset on success
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class UserCreate(SQLModel):
    username: str = Field(min_length=2, max_length=120, regex=r"^[A-Za-z0-9._@+-]+$")
    full_name: str = Field(default="", max_length=200)
    role: str = Field(max_length=16)
    customer_id: int | None = None
    password: str | None = Field(default=None, min_length=12, max_length=256)


class UserPublic(SQLModel):
    id: int
    username: str
    email: str | None = None
    language: str | None = None
    full_name: str
    role: str
    customer_id: int | None
    active: bool
    locked_until: datetime | None
    created_at: datetime


class ApiToken(SQLModel, table=True):
    """A bearer token; only the SHA-256 of the secret is stored (the secret has 256 bits of
    entropy, so a slow hash adds nothing)."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    name: str = Field(default="", max_length=120)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)  # first characters, to recognise a token in lists
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ApiTokenCreate(SQLModel):
    name: str = Field(default="", max_length=120)
    days: int | None = Field(default=90, ge=1, le=3650)  # None: no expiry


class ApiTokenPublic(SQLModel):
    id: int
    user_id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiTokenCreated(ApiTokenPublic):
    token: str  # shown once


class _UserSecret(SQLModel):
    """What a web session and an invitation share: a user's secret, kept as its SHA-256 elsewhere
    in the row, that works from `created_at` until `expires_at` or until revoked."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebSession(_UserSecret, table=True):
    __tablename__ = "web_session"

    session_hash: str = Field(max_length=64, unique=True)
    csrf_token: str = Field(max_length=64)
    ip: str = Field(default="", max_length=64)


class LoginAttempt(SQLModel, table=True):
    __tablename__ = "login_attempt"
    __table_args__ = (Index("ix_login_attempt_ip_at", "ip", "at"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigIntPK)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    username: str = Field(max_length=120)
    ip: str = Field(max_length=64)
    success: bool
    reason: str = Field(default="", max_length=64)  # bad_password, unknown_user, locked, rate_limited


class LoginAttemptPublic(SQLModel):
    id: int
    at: datetime
    username: str
    ip: str
    success: bool
    reason: str


class Invitation(_UserSecret, table=True):
    """A one-time link to set a password. Only the SHA-256 of the token is stored (256 bits of
    entropy: a slow hash adds nothing); it works once, until `expires_at`."""

    __tablename__ = "user_invitation"

    token_hash: str = Field(max_length=64, unique=True)
    created_by: str = Field(max_length=120)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # revoked_at: a newer invitation was sent
