"""Tenancy: the customers (NOXUS' clients, the tenants) and their sites — the spine that fleet,
HR and billing hang on. Tenancy depends on nothing but core.

A customer holds what identifies it towards NOXUS: legal name and UID/VAT number, the structured
billing address the QR-bill prints as debtor, the contact person who receives §7.6 notices, its
language and canton. This is the one source of truth for those (docs/tenancy.md)."""

import re
import zoneinfo
from datetime import datetime

from pydantic import ValidationInfo, field_validator
from sqlmodel import Field, SQLModel
from sqlmodel.main import SQLModelConfig
from stdnum.ch import uid as ch_uid
from stdnum.ch import vat as ch_vat
from stdnum.exceptions import ValidationError as StdnumError

from noxus.core.i18n import LANGUAGES
from noxus.core.i18n import gettext as _
from noxus.core.types import UTCDateTime, utcnow
from noxus.tenancy.cantons import CODES as CANTON_CODES

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DEFAULT_TIMEZONE = "Europe/Zurich"


class CustomerBase(SQLModel):
    name: str = Field(max_length=200)
    language: str = Field(default="fr", max_length=2)


class Customer(CustomerBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    legal_name: str = Field(default="", max_length=70)  # QR-bill debtor name: 70 characters max
    vat_number: str | None = Field(default=None, max_length=32)  # CHE-123.456.789 [MWST|TVA|IVA]
    street: str = Field(default="", max_length=70)
    house_num: str = Field(default="", max_length=16)
    postcode: str = Field(default="", max_length=16)
    town: str = Field(default="", max_length=35)
    country: str = Field(default="CH", max_length=2)
    # §7.6: the written notice of a retrieval goes to this person (post to the address above, e-mail)
    contact_name: str = Field(default="", max_length=70)
    contact_email: str = Field(default="", max_length=254)
    contact_phone: str = Field(default="", max_length=32)
    canton: str | None = Field(default=None, max_length=2)
    archived_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# --- validators shared by Create and Update -------------------------------------------------------


def _vat(value: str | None) -> str | None:
    """A Swiss UID (CHE-123.456.789) or VAT number (… MWST/TVA/IVA), checked with python-stdnum
    and written in its official form."""
    if value is None:
        return None
    try:
        if value.upper().rstrip(". ").endswith(("MWST", "TVA", "IVA")):
            return ch_vat.format(ch_vat.validate(value))
        return ch_uid.format(ch_uid.validate(value))
    except StdnumError:
        raise ValueError(
            _(
                "Not a valid Swiss UID or VAT number (e.g. CHE-123.456.789 or "
                "CHE-123.456.789 MWST): check the digits."
            )
        ) from None


def _language(value: str | None) -> str | None:
    if value is not None and value not in LANGUAGES:
        raise ValueError(_("Choose one of the proposed values."))
    return value


def _canton(value: str | None) -> str | None:
    if value is None:
        return None
    code = value.strip().upper()
    if code not in CANTON_CODES:
        raise ValueError(_("Unknown canton %(code)s: use one of the 26 codes (VD, BE, ZH…).", code=value))
    return code


def _email(value: str | None) -> str | None:
    if value is not None and not EMAIL.match(value):
        raise ValueError(_("Not an e-mail address (name@example.ch)."))
    return value


def _country(value: str | None) -> str | None:
    if value is None:
        return None
    if not re.fullmatch(r"[A-Za-z]{2}", value):
        raise ValueError(_("A two-letter country code (CH, FR, DE…)."))
    return value.upper()


def _timezone(value: str | None) -> str | None:
    if value is None:
        return None
    if value not in zoneinfo.available_timezones():
        raise ValueError(_("Unknown time zone %(zone)s (e.g. Europe/Zurich).", zone=value))
    return value


# field -> its check; a schema checks the fields of this list it has
CHECKS = {
    "vat_number": _vat,
    "language": _language,
    "canton": _canton,
    "contact_email": _email,
    "country": _country,
    "timezone": _timezone,
}


class _Checked(SQLModel):
    model_config = SQLModelConfig(str_strip_whitespace=True)

    @field_validator(*CHECKS, check_fields=False)
    @classmethod
    def _check(cls, v: str | None, info: ValidationInfo) -> str | None:
        return CHECKS[info.field_name or ""](v)


class CustomerCreate(_Checked):
    name: str = Field(min_length=1, max_length=200)
    legal_name: str = Field(min_length=1, max_length=70)
    vat_number: str | None = Field(default=None, max_length=40)
    street: str = Field(min_length=1, max_length=70)
    house_num: str = Field(default="", max_length=16)
    postcode: str = Field(min_length=1, max_length=16)
    town: str = Field(min_length=1, max_length=35)
    country: str = Field(default="CH", max_length=2)
    contact_name: str = Field(min_length=1, max_length=70)
    contact_email: str = Field(min_length=1, max_length=254)
    contact_phone: str = Field(default="", max_length=32)
    language: str = Field(max_length=2)
    canton: str = Field(max_length=8)


class CustomerUpdate(_Checked):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    legal_name: str | None = Field(default=None, min_length=1, max_length=70)
    vat_number: str | None = Field(default=None, max_length=40)
    street: str | None = Field(default=None, min_length=1, max_length=70)
    house_num: str | None = Field(default=None, max_length=16)
    postcode: str | None = Field(default=None, min_length=1, max_length=16)
    town: str | None = Field(default=None, min_length=1, max_length=35)
    country: str | None = Field(default=None, max_length=2)
    contact_name: str | None = Field(default=None, min_length=1, max_length=70)
    contact_email: str | None = Field(default=None, min_length=1, max_length=254)
    contact_phone: str | None = Field(default=None, max_length=32)
    language: str | None = Field(default=None, max_length=2)
    canton: str | None = Field(default=None, max_length=8)


class CustomerPublic(CustomerBase):
    id: int
    legal_name: str
    vat_number: str | None
    street: str
    house_num: str
    postcode: str
    town: str
    country: str
    contact_name: str
    contact_email: str
    contact_phone: str
    canton: str | None
    archived_at: datetime | None
    created_at: datetime
    # from billing, when it is installed (noxus.tenancy.service.account_provider)
    account_state: str | None = None
    balance: int | None = None  # centimes the customer owes (negative: its credit)


class SiteBase(SQLModel):
    customer_id: int = Field(foreign_key="customer.id", index=True)
    name: str = Field(max_length=200)
    address: str = Field(default="", max_length=300)
    timezone: str = Field(default=DEFAULT_TIMEZONE, max_length=64)


class Site(SiteBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    # the site's canton chooses its public holidays (HR)
    canton: str | None = Field(default=None, max_length=2)


class SiteCreate(_Checked):
    customer_id: int
    name: str = Field(min_length=1, max_length=200)
    address: str = Field(default="", max_length=300)
    canton: str = Field(max_length=8)
    timezone: str = Field(default=DEFAULT_TIMEZONE, max_length=64)


class SiteUpdate(_Checked):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    address: str | None = Field(default=None, max_length=300)
    canton: str | None = Field(default=None, max_length=8)
    timezone: str | None = Field(default=None, max_length=64)


class SitePublic(SiteBase):
    id: int
    canton: str | None
