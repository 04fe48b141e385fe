"""Billing's entries in the one audit log (noxus.core.audit): every transition, who and when.
The object is the retrieval case, else the invoice, else the payment, else the customer."""

from datetime import datetime

from sqlmodel import Session

from noxus.billing.models import Invoice
from noxus.core import audit
from noxus.core.audit_entry import AuditEntry


def entry(
    kind: str,
    *,
    actor: str = "system",
    customer_id: int | None = None,
    invoice_id: int | None = None,
    case_id: int | None = None,
    at: datetime | None = None,
    **detail,
) -> dict:
    """The arguments `record` gives the audit log, for `audit.record_many` (bulk appends).
    `at`: the business date of the transition when it is not now (a back-dated payment)."""
    oid: int | None
    if case_id is not None:
        obj, oid = "retrieval_case", case_id
    elif invoice_id is not None:
        obj, oid = "invoice", invoice_id
    elif detail.get("payment_id") is not None:
        obj, oid = "payment", detail["payment_id"]
    else:
        obj, oid = "customer", customer_id
    extra = {"invoice_id": invoice_id, "case_id": case_id, "effective_at": at}
    body = {k: v for k, v in {**extra, **detail}.items() if v is not None}
    return {
        "actor": actor,
        "action": kind,
        "object_type": obj,
        "object_id": "" if oid is None else oid,
        "customer_id": customer_id,
        "detail": body,
    }


def record_invoice(session: Session, kind: str, invoice: Invoice, **fields) -> AuditEntry:
    """An invoice's event (or a credit note's): `record` with the invoice and its customer."""
    return record(session, kind, customer_id=invoice.customer_id, invoice_id=invoice.id, **fields)


def lock_chain(session: Session) -> None:
    audit.lock_chain(session)


def record_many(session: Session, entries: list[dict]) -> int:
    """Append entries made by `entry`, in order, with one INSERT."""
    return audit.record_many(session, entries)


def record(session: Session, kind: str, **fields) -> AuditEntry:
    """Append `entry(kind, **fields)` to the audit log (the same keywords: actor, customer_id,
    invoice_id, case_id, at, detail)."""
    e = entry(kind, **fields)
    return audit.record(
        session,
        e["actor"],
        e["action"],
        e["object_type"],
        e["object_id"],
        customer_id=e["customer_id"],
        detail=e["detail"],
    )
