"""Tenancy: the customers (NOXUS' clients, the tenants) and their sites — the spine that fleet,
HR and billing hang on. Tenancy depends on nothing but core."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from noxus.core.types import UTCDateTime, utcnow


class CustomerBase(SQLModel):
    name: str = Field(max_length=200)
    language: str = Field(default="fr", max_length=2)


class Customer(CustomerBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CustomerCreate(CustomerBase):
    pass


class CustomerPublic(CustomerBase):
    id: int
    created_at: datetime


class SiteBase(SQLModel):
    customer_id: int = Field(foreign_key="customer.id", index=True)
    name: str = Field(max_length=200)
    address: str = Field(default="", max_length=300)
    timezone: str = Field(default="Europe/Zurich", max_length=64)


class Site(SiteBase, table=True):
    id: int | None = Field(default=None, primary_key=True)


class SiteCreate(SiteBase):
    pass


class SitePublic(SiteBase):
    id: int
