"""camt.054 (ISO 20022 bank-to-customer debit/credit notification) reader, as Swiss banks send
them for QR-bill payments (SIX Swiss Payment Standards; versions .001.04 to .001.08 read alike).

Parsed with defusedxml (no entity expansion, no external entities). Namespaces are ignored:
elements are found by local name, so every camt.054 version is read the same way.
Only credits (CdtDbtInd = CRDT) with a booked status are payments; reversals are reported back.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element

from babel.numbers import is_currency
from defusedxml import DefusedXmlException, ElementTree


class CamtError(ValueError):
    pass


@dataclass(frozen=True)
class BankTransaction:
    bank_ref: str  # TxDtls/Refs/AcctSvcrRef, else <Ntry AcctSvcrRef>/<tx index>, else <msg id>/<ntry>/<tx>
    amount: int  # centimes
    currency: str
    credit: bool
    booked: bool
    value_date: date
    reference: str | None  # RmtInf/Strd/CdtrRefInf/Ref (QRR or SCOR)
    debtor_name: str | None
    unstructured: str | None  # RmtInf/Ustrd, for staff when there is no reference


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(el: Element | None, *path: str) -> Element | None:
    for name in path:
        if el is None:
            return None
        el = next((c for c in el if _local(c.tag) == name), None)
    return el


def _children(el: Element | None, name: str) -> list[Element]:
    return [] if el is None else [c for c in el if _local(c.tag) == name]


def _text(el: Element | None, *path: str) -> str | None:
    found = _child(el, *path)
    return found.text.strip() if found is not None and found.text and found.text.strip() else None


def _amount(el: Element | None, where: str) -> tuple[int, str]:
    if el is None or not el.text:
        raise CamtError(f"{where}: amount (Amt) missing")
    try:
        value = Decimal(el.text.strip()) * 100
    except InvalidOperation:
        raise CamtError(f"{where}: amount {el.text!r} is not a number") from None
    if value != value.to_integral_value():
        raise CamtError(f"{where}: amount {el.text!r} has fractions of a centime")
    currency = el.get("Ccy", "")
    if currency and not is_currency(currency):
        raise CamtError(
            f"{where}: currency {currency!r} is not an ISO 4217 currency; nothing was imported "
            "from this file — export it again from e-banking"
        )
    return int(value), currency


def _date(el: Element | None) -> date | None:
    raw = _text(el, "Dt") or _text(el, "DtTm")
    return date.fromisoformat(raw[:10]) if raw else None


def parse(xml: bytes) -> list[BankTransaction]:
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as exc:
        raise CamtError(f"not well-formed XML: {exc}") from None
    except DefusedXmlException as exc:  # entities, DTDs, external references
        raise CamtError(
            f"refused XML ({type(exc).__name__}): export the camt.054 again from e-banking"
        ) from None
    notif_root = _child(root, "BkToCstmrDbtCdtNtfctn")
    if notif_root is None:
        raise CamtError("not a camt.054 file (no BkToCstmrDbtCdtNtfctn element)")
    msg_id = _text(notif_root, "GrpHdr", "MsgId") or "nomsgid"
    out: list[BankTransaction] = []
    for notif in _children(notif_root, "Ntfctn"):
        notif_id = _text(notif, "Id") or msg_id
        for n, entry in enumerate(_children(notif, "Ntry"), 1):
            where = f"Ntry {n}"
            status = _text(entry, "Sts", "Cd") or _text(entry, "Sts") or "BOOK"
            entry_ref = _text(entry, "AcctSvcrRef")
            value_date = _date(_child(entry, "ValDt")) or _date(_child(entry, "BookgDt"))
            if value_date is None:
                raise CamtError(f"{where}: neither ValDt nor BookgDt")
            entry_credit = _text(entry, "CdtDbtInd") == "CRDT"
            txs = [tx for d in _children(entry, "NtryDtls") for tx in _children(d, "TxDtls")]
            if not txs:  # an entry without details is one transaction
                txs = [entry]
            for t, tx in enumerate(txs, 1):
                amt_el = (
                    _child(tx, "Amt")
                    if _child(tx, "Amt") is not None
                    else _child(tx, "AmtDtls", "TxAmt", "Amt")
                )
                if amt_el is None:
                    amt_el = _child(entry, "Amt")
                amount, currency = _amount(amt_el, f"{where} TxDtls {t}")
                ind = _text(tx, "CdtDbtInd")
                bank_ref = _text(tx, "Refs", "AcctSvcrRef") or (
                    f"{entry_ref}/{t}" if entry_ref else f"{notif_id}/{n}/{t}"
                )
                debtor = _text(tx, "RltdPties", "Dbtr", "Pty", "Nm") or _text(tx, "RltdPties", "Dbtr", "Nm")
                out.append(
                    BankTransaction(
                        bank_ref=bank_ref[:64],
                        amount=amount,
                        currency=currency or "CHF",
                        credit=(ind == "CRDT") if ind else entry_credit,
                        booked=status == "BOOK",
                        value_date=value_date,
                        reference=_text(tx, "RmtInf", "Strd", "CdtrRefInf", "Ref"),
                        debtor_name=debtor[:140] if debtor else None,
                        unstructured=_text(tx, "RmtInf", "Ustrd"),
                    )
                )
    return out
