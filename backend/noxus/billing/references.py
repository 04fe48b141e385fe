"""Payment references printed on the QR-bill and matched on camt.054 (docs/billing.md).

QRR (QR-IBAN only): 27 digits = customer id (8) + invoice id (18) + ESR mod-10 recursive check.
SCOR (ordinary IBAN): ISO 11649 "RF" + 2 check digits + the same 26 digits stripped of zeros.
"""

from stdnum import iso11649
from stdnum.ch import esr
from stdnum.iso7064 import mod_97_10

from noxus.billing.models import Invoice


def is_qr_iban(iban: str) -> bool:
    """A QR-IBAN has an institution id (IBAN positions 5-9) in 30000-31999."""
    compact = iban.replace(" ", "").upper()
    return compact[:2] in ("CH", "LI") and compact[4:9].isdigit() and 30000 <= int(compact[4:9]) <= 31999


def qrr(customer_id: int, invoice_id: int) -> str:
    body = f"{customer_id:08d}{invoice_id:018d}"
    return body + esr.calc_check_digit(body)


def scor(customer_id: int, invoice_id: int) -> str:
    body = f"{customer_id}{invoice_id:010d}"  # at most 21 characters after RF + check digits
    return "RF" + mod_97_10.calc_check_digits(body + "RF") + body


def reference_of(customer_id: int, invoice_id: int, iban: str) -> str:
    return (qrr if is_qr_iban(iban) else scor)(customer_id, invoice_id)


def reference_for(invoice: Invoice, iban: str) -> str:
    assert invoice.id is not None, "a stored invoice"
    return reference_of(invoice.customer_id, invoice.id, iban)


def normalize(reference: str | None) -> str | None:
    """As received from a bank: spaces removed, upper case; None when not a valid QRR/SCOR."""
    if not reference:
        return None
    compact = reference.replace(" ", "").upper()
    if compact.startswith("RF"):
        return compact if iso11649.is_valid(compact) else None
    return compact if len(compact) == 27 and esr.is_valid(compact) else None
