import re

from pydantic import field_validator
from sqlmodel import Field, SQLModel
from sqlmodel.main import SQLModelConfig

from noxus.core.i18n import LANGUAGES
from noxus.core.security import Role


class LoginRequest(SQLModel):
    username: str = Field(max_length=120)
    password: str = Field(max_length=256)
    token_name: str = Field(default="api", max_length=120)
    days: int | None = Field(default=30, ge=1, le=3650)


class UserUpdate(SQLModel):
    full_name: str | None = Field(default=None, max_length=200)
    role: str | None = Field(default=None, max_length=16)
    active: bool | None = None
    password: str | None = Field(default=None, min_length=12, max_length=256)


class Me(SQLModel):
    user_id: int | None
    username: str
    role: str
    customer_id: int | None
    via: str


class UserInvite(SQLModel):
    model_config = SQLModelConfig(str_strip_whitespace=True)
    email: str = Field(min_length=3, max_length=120)
    full_name: str = Field(min_length=1, max_length=200)
    role: Role
    customer_id: int | None = None
    language: str | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", v):
            raise ValueError("not an e-mail address")
        return v

    @field_validator("language")
    @classmethod
    def _language(cls, v: str | None) -> str | None:
        if v is not None and v not in LANGUAGES:
            raise ValueError("language must be one of " + ", ".join(LANGUAGES))
        return v


class InvitationAccept(SQLModel):
    token: str = Field(min_length=10, max_length=200)
    password: str = Field(min_length=12, max_length=256)
