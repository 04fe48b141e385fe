"""Billing: plans, contracts, the monthly run, invoices, payments, dunning, §7.6 retrieval.

Other contexts call `restrictions(session, customer_id, today)` to learn what a customer's
overdue state blocks (HR exports, new badges); recording punches is never blocked."""

from noxus.billing import outbox as _outbox  # noqa: F401  (registers billing documents as mail attachments)
