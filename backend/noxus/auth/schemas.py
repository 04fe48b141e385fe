from sqlmodel import Field, SQLModel


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
