"""Billing staff pages (/billing): customers and their standing, the run and its drafts (review,
edit, delete, issue), invoices (list with filters, detail, credit notes), payments (camt.054
import, unmatched credits with match suggestions), dunning, §7.6 cases, the outbox, and the set-up
forms (billing profile, plans and price versions, contracts and their kiosks).

Every action that sends mail or changes a customer's state goes through a confirmation page
(the form posts once without `confirmed`, the page says what will happen and posts again with it).
Forms post back and redirect (POST/redirect/GET); the security layer checks the session cookie and
each form's CSRF field. Dates are today in the company zone; amounts are typed in CHF."""

import base64
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import partial
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import col, func, select

from noxus.billing import camt, drafts, dunning, issuing, payments, retrieval
from noxus.billing.dates import BusinessDateError, company_today
from noxus.billing.invoices import InvoiceStateError, credit, credit_amount, lines_of
from noxus.billing.listing import InvoiceFilter, filtered
from noxus.billing.models import BillingProfile, Invoice, Payment, RetrievalCase
from noxus.billing.retrieval import OPEN_STATES
from noxus.billing.router import invoice_or_404
from noxus.billing.run import run_month
from noxus.billing.schemas import parse_chf
from noxus.billing.state import standings
from noxus.core import outbox
from noxus.core.deps import SessionDep, SettingsDep
from noxus.core.i18n import format_chf, format_date, lazy_gettext
from noxus.core.i18n import gettext as _
from noxus.core.outbox import OutboxMail
from noxus.core.security import BillingStaff, TechStaff
from noxus.core.types import id_of
from noxus.tenancy.models import Customer
from noxus.tenancy.service import account_state_label
from noxus.web import flash
from noxus.web.download import content_disposition
from noxus.web.templating import templates

router = APIRouter(prefix="/billing", include_in_schema=False)
# Words the templates translate from data (`{{ _(invoice.status) }}`): written out one by one so
# that extraction finds them (a loop over a tuple hides them from pybabel).
STATE_WORDS = [
    lazy_gettext("draft"),
    lazy_gettext("open"),
    lazy_gettext("paid"),
    lazy_gettext("void"),
    lazy_gettext("overdue"),
    lazy_gettext("invoice"),
    lazy_gettext("credit_note"),
    lazy_gettext("good"),
    lazy_gettext("reminder"),
    lazy_gettext("suspended"),
    lazy_gettext("retrieval"),
    lazy_gettext("queued"),
    lazy_gettext("sending"),
    lazy_gettext("sent"),
    lazy_gettext("failed"),
    lazy_gettext("cancelled"),
    lazy_gettext("matched"),
    lazy_gettext("unmatched"),
    lazy_gettext("ignored"),
    lazy_gettext("flagged"),
    lazy_gettext("notified"),
    lazy_gettext("scheduled"),
    lazy_gettext("completed"),
    lazy_gettext("unpaid"),
    lazy_gettext("contract_end"),
]
FormStr = Annotated[str, Form()]
OptStr = Annotated[str, Form()]


def _back(url: str = "/billing", **params) -> RedirectResponse:
    banners = flash.params(msg=params.pop("msg", None), err=params.pop("err", None))
    query = urlencode({**{k: v for k, v in params.items() if v}, **banners})
    return RedirectResponse(url + ("?" + query if query else ""), status_code=303)


def _page(request: Request, user, name: str, *, status_code: int = 200, **ctx) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        name,
        {
            "user": user,
            "csrf": user.csrf_token or "",
            "msg": flash.read(request, "msg"),
            "err": flash.read(request, "err"),
            **ctx,
        },
        status_code=status_code,
    )


def _confirm(
    request: Request, user, title: str, consequences: list[str], action: str, fields: dict
) -> HTMLResponse:
    """The confirmation step: what will happen, and the same form again with confirmed=1."""
    return _page(
        request,
        user,
        "billing_confirm.html",
        title=title,
        consequences=consequences,
        action=action,
        fields={k: v for k, v in fields.items() if v is not None},
    )


def _commit_or_refuse(
    session,
    action: Callable[[], object],
    msg: str,
    *,
    refused: type[Exception] = ValueError,
    back: str = "/billing",
    then: str | None = None,
) -> RedirectResponse:
    """The confirmed step of a form: the action is committed and the staff go on to `then`
    (default: back) with `msg`; refused, nothing is kept and `back` says why."""
    try:
        action()
    except refused as exc:
        session.rollback()
        return _back(back, err=str(exc))
    session.commit()
    return _back(then or back, msg=msg)


def _customers(session) -> dict[int, str]:
    return {c.id: c.name for c in session.exec(select(Customer))}


# --- overview ------------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def overview(request: Request, session: SessionDep, settings: SettingsDep, user: BillingStaff):
    today = company_today(settings)
    profiles = session.exec(select(BillingProfile).order_by(col(BillingProfile.customer_id))).all()
    balances: dict[int, int] = {}
    for inv in session.exec(select(Invoice).where(Invoice.status == "open")):
        balances[inv.customer_id] = balances.get(inv.customer_id, 0) + inv.balance
    cases = session.exec(select(RetrievalCase).order_by(col(RetrievalCase.id).desc()).limit(50)).all()
    return _page(
        request,
        user,
        "billing_overview.html",
        customers=_customers(session),
        profiles=profiles,
        balances=balances,
        cases=cases,
        open_states=OPEN_STATES,
        today=today,
        zone=ZoneInfo(settings.timezone),
        standings=standings(session, None, today, settings),
        state_label=account_state_label,
        unmatched=payments.unmatched(session),
        preview=drafts.preview(session),
        failed_mails=session.exec(
            select(func.count()).select_from(OutboxMail).where(OutboxMail.status == "failed")
        ).one(),
    )


# --- the run and its drafts --------------------------------------------------------------------------


def _month(period: str) -> date | None:
    try:
        return date.fromisoformat(period + "-01" if len(period) == 7 else period).replace(day=1)
    except ValueError:
        return None


@router.post("/run")
def run(session: SessionDep, settings: SettingsDep, user: BillingStaff, period: FormStr):
    day = _month(period)
    if day is None:
        return _back(err=_("Period %(p)s is not a month like 2026-03.", p=period))
    r = run_month(session, day, settings, actor=user.actor)
    return _back(
        "/billing/drafts",
        period=f"{day:%Y-%m}",
        msg=_(
            "Run %(p)s: %(n)s drafts to review, %(e)s already invoiced.",
            p=f"{day:%Y-%m}",
            n=len(r.created),
            e=r.existing,
        ),
        err="; ".join(r.errors),
    )


@router.get("/drafts", response_class=HTMLResponse)
def drafts_page(request: Request, session: SessionDep, user: BillingStaff, period: str = ""):
    month = _month(period) if period else None
    q = select(Invoice).where(Invoice.status == "draft").order_by(col(Invoice.customer_id), col(Invoice.id))
    if month:
        q = q.where(Invoice.period == month)
    return _page(
        request,
        user,
        "billing_drafts.html",
        preview=drafts.preview(session, month),
        drafts=session.exec(q).all(),
        customers=_customers(session),
        period=period,
    )


@router.post("/drafts/issue")
def issue(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: BillingStaff,
    period: OptStr = "",
    invoice_id: OptStr = "",
    confirmed: OptStr = "",
):
    q = select(Invoice).where(Invoice.status == "draft")
    if invoice_id:
        q = q.where(Invoice.id == int(invoice_id))
    elif period and _month(period):
        q = q.where(Invoice.period == _month(period))
    todo = session.exec(q.order_by(col(Invoice.id))).all()
    today = company_today(settings)
    if not confirmed:
        return _confirm(
            request,
            user,
            _("Issue %(n)s invoices", n=len(todo)),
            [
                _(
                    "Each gets the next number, is dated %(d)s and falls due on %(due)s.",
                    d=format_date(today),
                    due=format_date(today + timedelta(days=settings.billing_payment_days)),
                ),
                _("Its PDF is stored and e-mailed to the customer's invoice address."),
                _("Total: %(t)s.", t=format_chf(sum(i.total for i in todo))),
            ],
            "/billing/drafts/issue",
            {"period": period, "invoice_id": invoice_id},
        )
    try:
        issued = issuing.issue_drafts(session, [id_of(i) for i in todo], settings, today, user.actor)
    except InvoiceStateError as exc:
        session.rollback()
        return _back("/billing/drafts", err=str(exc))
    session.commit()
    return _back("/billing/invoices", msg=_("%(n)s invoices issued.", n=len(issued)))


# --- invoices --------------------------------------------------------------------------------------


@router.get("/invoices", response_class=HTMLResponse)
def invoices(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: BillingStaff,
    status: str = "",
    customer_id: str = "",
    period: str = "",
    min_total: str = "",
    max_total: str = "",
    number: str = "",
):
    errors = {}
    f = InvoiceFilter(status=status or None, number=number or None)
    if customer_id:
        f.customer_id = int(customer_id) if customer_id.isdigit() else None
    if period:
        f.period = _month(period)
        if f.period is None:
            errors["period"] = _("Enter a month like 2026-03.")
    for name, value in (("min_total", min_total), ("max_total", max_total)):
        if value:
            try:
                setattr(f, name, parse_chf(value))
            except ValueError:
                errors[name] = _("Enter an amount in CHF, for example 1'234.50.")
    found = filtered(session, f, today=company_today(settings), limit=500)
    return _page(
        request,
        user,
        "billing_invoices.html",
        invoices=found,
        customers=_customers(session),
        values=dict(request.query_params),
        errors=errors,
        today=company_today(settings),
    )


@router.get("/invoices/{invoice_id}", response_class=HTMLResponse)
def invoice_detail(request: Request, invoice_id: int, session: SessionDep, user: BillingStaff):
    inv = invoice_or_404(session, invoice_id)
    from noxus.billing.models import Document, Reminder

    notes = session.exec(select(Invoice).where(Invoice.credited_invoice_id == inv.id)).all()
    return _page(
        request,
        user,
        "billing_invoice.html",
        inv=inv,
        lines=lines_of(session, id_of(inv)),
        customer=session.get(Customer, inv.customer_id),
        notes=notes,
        credited=session.get(Invoice, inv.credited_invoice_id) if inv.credited_invoice_id else None,
        reminders=session.exec(select(Reminder).where(Reminder.invoice_id == inv.id)).all(),
        payments=session.exec(select(Payment).where(Payment.invoice_id == inv.id)).all(),
        documents=session.exec(
            select(Document.id, Document.kind, Document.filename).where(Document.invoice_id == inv.id)
        ).all(),
        values={},
        errors={},
    )


@router.get("/documents/{document_id}", response_class=Response)
def document_pdf(document_id: int, session: SessionDep, user: BillingStaff):
    """A PDF as it was sent (invoice, credit note, reminder, notice), opened from the invoice page
    with the staff's session: the page links here, not to the JSON API."""
    from noxus.billing.models import Document

    doc = session.get(Document, document_id)
    if doc is None:
        raise HTTPException(404, _("Document %(id)s does not exist.", id=document_id))
    return Response(
        doc.pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": content_disposition(doc.filename, "inline")},
    )


@router.post("/invoices/{invoice_id}/lines", response_class=HTMLResponse)
def edit_line(
    request: Request,
    invoice_id: int,
    session: SessionDep,
    user: BillingStaff,
    description: OptStr = "",
    quantity: OptStr = "1",
    unit_price: OptStr = "",
    position: OptStr = "",
    remove: OptStr = "",
):
    """Change (position), add (no position) or remove a line of a draft."""
    errors = {}
    try:
        if remove:
            drafts.remove_line(session, invoice_id, int(position), user.actor)
        else:
            try:
                price = parse_chf(unit_price)
            except ValueError:
                errors["unit_price"] = _("Enter an amount in CHF, for example 120.00 or 1'234.50.")
                price = 0
            if not description.strip():
                errors["description"] = _("This field is required.")
            try:
                drafts.parse_quantity(quantity)
            except ValueError:
                errors["quantity"] = _("Enter a number more than 0, for example 1 or 0.5.")
            if not errors:
                drafts.set_line(
                    session,
                    invoice_id,
                    position=int(position) if position else None,
                    description=description,
                    quantity=quantity,
                    unit_price=price,
                    actor=user.actor,
                )
    except InvoiceStateError as exc:
        session.rollback()
        return _back(f"/billing/invoices/{invoice_id}", err=str(exc))
    if errors:
        session.rollback()
        page = invoice_detail(request, invoice_id, session, user)
        page.context.update(
            values={
                "description": description,
                "quantity": quantity,
                "unit_price": unit_price,
                "position": position,
            },
            errors=errors,
        )
        return templates.TemplateResponse(request, "billing_invoice.html", page.context, status_code=422)
    session.commit()
    return _back(f"/billing/invoices/{invoice_id}", msg=_("Draft updated."))


@router.post("/invoices/{invoice_id}/delete")
def delete_draft(
    request: Request, invoice_id: int, session: SessionDep, user: BillingStaff, confirmed: OptStr = ""
):
    inv = invoice_or_404(session, invoice_id)
    if not confirmed:
        return _confirm(
            request,
            user,
            _("Delete draft %(id)s", id=inv.id),
            [
                _("The draft of %(t)s is discarded; nothing was sent.", t=format_chf(inv.total)),
                _("The contract's month is drafted again by the next run, with the data of that day."),
            ],
            f"/billing/invoices/{invoice_id}/delete",
            {},
        )
    return _commit_or_refuse(
        session,
        partial(drafts.delete_draft, session, invoice_id, user.actor),
        _("Draft deleted."),
        refused=InvoiceStateError,
        back=f"/billing/invoices/{invoice_id}",
        then="/billing/drafts",
    )


@router.post("/invoices/{invoice_id}/credit")
def credit_note(
    request: Request,
    invoice_id: int,
    session: SessionDep,
    settings: SettingsDep,
    user: BillingStaff,
    reason: OptStr = "",
    amount: OptStr = "",
    confirmed: OptStr = "",
):
    inv = invoice_or_404(session, invoice_id)
    centimes = None
    try:
        if amount.strip():
            centimes = parse_chf(amount)
        if not reason.strip():
            raise ValueError(_("Give the reason printed on the credit note."))
        if centimes is not None and centimes <= 0:
            raise ValueError(_("A credit note amount must be more than CHF 0.00."))
    except ValueError as exc:
        return _back(f"/billing/invoices/{invoice_id}", err=str(exc))
    if not confirmed:
        what = (
            format_chf(centimes) if centimes is not None else _("the whole invoice (it becomes void if open)")
        )
        return _confirm(
            request,
            user,
            _("Credit note against %(n)s", n=inv.number),
            [
                _("A credit note of %(what)s, numbered and dated today, is issued.", what=what),
                _("Its PDF is e-mailed to the customer."),
                _("Reason: %(r)s", r=reason),
            ],
            f"/billing/invoices/{invoice_id}/credit",
            {"reason": reason, "amount": amount},
        )
    today = company_today(settings)
    try:
        if centimes is None:
            note = credit(
                session, inv, issue_date=today, iban=settings.billing_iban, reason=reason, actor=user.actor
            )
        else:
            note = credit_amount(
                session,
                inv,
                centimes,
                issue_date=today,
                iban=settings.billing_iban,
                reason=reason,
                actor=user.actor,
            )
        issuing.issue(session, note, settings, user.actor)
    except InvoiceStateError as exc:
        session.rollback()
        return _back(f"/billing/invoices/{invoice_id}", err=str(exc))
    dunning.refresh_customer(session, inv.customer_id, today, settings, user.actor)
    session.commit()
    return _back(f"/billing/invoices/{note.id}", msg=_("Credit note %(n)s issued.", n=note.number))


# --- dunning -----------------------------------------------------------------------------------------


@router.post("/dunning")
def run_dunning(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: BillingStaff,
    day: OptStr = "",
    reason: OptStr = "",
    confirmed: OptStr = "",
):
    today = company_today(settings)
    try:
        when = date.fromisoformat(day) if day else None
    except ValueError:
        return _back(err=_("Enter a date as dd.mm.yyyy."))
    if when is not None and when > today:
        return _back(
            err=_(
                "Dunning cannot be dated in the future: %(d)s is after today (%(t)s).",
                d=format_date(when),
                t=format_date(today),
            )
        )
    if when is not None and when < today and not reason.strip():
        return _back(err=_("A back-dated dunning needs a reason."))
    if not confirmed:
        due = dunning.due_reminders(session, when or today, settings)
        return _confirm(
            request,
            user,
            _("Run dunning for %(d)s", d=format_date(when or today)),
            [
                _("%(n)s reminders are issued, each with its fee, and e-mailed.", n=len(due)),
                *[_("Invoice %(n)s: reminder %(l)s", n=inv.number, l=level) for inv, level in due[:50]],
                _("Customers reaching the suspension level are suspended; §7.6 cases open where due."),
            ],
            "/billing/dunning",
            {"day": day, "reason": reason},
        )
    try:
        r = dunning.run_dunning(session, when, settings, user.actor, reason=reason)
    except BusinessDateError as exc:
        return _back(err=str(exc))
    return _back(
        msg=_(
            "Dunning: %(r)s reminders, %(c)s retrieval cases.", r=len(r.reminders), c=len(r.retrieval_cases)
        )
    )


# --- payments ------------------------------------------------------------------------------------------


@router.post("/camt054", response_class=HTMLResponse)
def import_camt(
    request: Request,
    session: SessionDep,
    user: BillingStaff,
    file: Annotated[UploadFile | None, File()] = None,
    content: OptStr = "",
    filename: OptStr = "",
    confirmed: OptStr = "",
):
    data = base64.b64decode(content) if content else (file.file.read() if file else b"")
    filename = filename or (file.filename if file else None) or "camt.xml"
    try:
        txs = camt.parse(data)
    except camt.CamtError as exc:
        return _back(err=_("%(f)s: %(e)s — nothing was imported.", f=filename, e=str(exc)))
    if not confirmed:
        credits = [t for t in txs if t.credit and t.booked]
        return _confirm(
            request,
            user,
            _("Import %(f)s", f=filename),
            [
                _(
                    "%(n)s credits, total %(t)s, are recorded as payments.",
                    n=len(credits),
                    t=format_chf(sum(t.amount for t in credits)),
                ),
                _(
                    "Invoices they pay become paid; customers with nothing left past due return to good standing."
                ),
            ],
            "/billing/camt054",
            {"content": base64.b64encode(data).decode(), "filename": filename},
        )
    r = payments.import_camt054(session, data, actor=user.actor)
    session.commit()
    return _back(
        msg=_(
            "%(f)s: %(n)s new (%(m)s matched, %(u)s unmatched), %(d)s already imported.",
            f=filename,
            n=r.new,
            m=r.matched,
            u=r.unmatched,
            d=r.duplicates,
        )
    )


@router.get("/payments/{payment_id}", response_class=HTMLResponse)
def payment_page(request: Request, payment_id: int, session: SessionDep, user: BillingStaff):
    payment = session.get(Payment, payment_id)
    if payment is None:
        raise HTTPException(404, _("Payment %(id)s does not exist.", id=payment_id))
    return _page(
        request,
        user,
        "billing_payment.html",
        payment=payment,
        suggestions=payments.suggestions(session, payment_id) if payment.status == "unmatched" else [],
        customers=_customers(session),
    )


@router.post("/payments/{payment_id}/assign")
def assign(
    request: Request,
    payment_id: int,
    session: SessionDep,
    user: BillingStaff,
    invoice_number: FormStr,
    confirmed: OptStr = "",
):
    inv = session.exec(select(Invoice).where(Invoice.number == invoice_number.strip())).first()
    if inv is None:
        return _back(
            f"/billing/payments/{payment_id}", err=_("No invoice is numbered %(n)s.", n=invoice_number)
        )
    payment = session.get(Payment, payment_id)
    if not confirmed and payment is not None:
        return _confirm(
            request,
            user,
            _("Assign payment %(id)s to %(n)s", id=payment_id, n=inv.number),
            [
                _(
                    "%(a)s is applied to invoice %(n)s (balance %(b)s).",
                    a=format_chf(payment.amount),
                    n=inv.number,
                    b=format_chf(inv.balance),
                ),
                _("If nothing is left past due, the customer returns to good standing."),
            ],
            f"/billing/payments/{payment_id}/assign",
            {"invoice_number": invoice_number},
        )
    return _commit_or_refuse(
        session,
        partial(payments.assign, session, payment_id, id_of(inv), user.actor),
        _("Payment %(id)s assigned to %(n)s.", id=payment_id, n=inv.number),
        refused=payments.PaymentError,
        back=f"/billing/payments/{payment_id}",
        then="/billing",
    )


# --- §7.6 cases ----------------------------------------------------------------------------------------


def _local(value: str, settings) -> datetime:
    """A moment typed in a datetime-local field, in the company zone; empty or malformed: ValueError."""
    return datetime.fromisoformat(value).replace(tzinfo=ZoneInfo(settings.timezone))


@router.post("/cases/{case_id}/notice-sent")
def notice_sent(
    request: Request,
    case_id: int,
    session: SessionDep,
    settings: SettingsDep,
    user: BillingStaff,
    channel: FormStr,
    sent_at: OptStr = "",
    reason: OptStr = "",
    confirmed: OptStr = "",
):
    if not confirmed:
        return _confirm(
            request,
            user,
            _("Record the §7.6 notice of case %(id)s as sent", id=case_id),
            [
                _("The case moves to notified; the retrieval visit can then be booked."),
                _("Sent: %(w)s by %(c)s", w=sent_at or _("now"), c=channel),
            ],
            f"/billing/cases/{case_id}/notice-sent",
            {"channel": channel, "sent_at": sent_at, "reason": reason},
        )
    return _commit_or_refuse(
        session,
        lambda: retrieval.record_notice_sent(
            session,
            case_id,
            _local(sent_at, settings) if sent_at else None,
            channel,
            user.actor,
            reason,
            settings,
        ),
        _("Case %(id)s: notice recorded.", id=case_id),
    )


@router.post("/cases/{case_id}/visit")
def visit(
    request: Request,
    case_id: int,
    session: SessionDep,
    settings: SettingsDep,
    user: BillingStaff,
    start: FormStr,
    end: FormStr,
    confirmed: OptStr = "",
):
    if not confirmed:
        return _confirm(
            request,
            user,
            _("Book the retrieval visit of case %(id)s", id=case_id),
            [_("The case's kiosks are scheduled for retrieval on %(s)s.", s=start.replace("T", " "))],
            f"/billing/cases/{case_id}/visit",
            {"start": start, "end": end},
        )
    return _commit_or_refuse(
        session,
        lambda: retrieval.schedule_visit(
            session, case_id, _local(start, settings), _local(end, settings), user.actor
        ),
        _("Case %(id)s: visit scheduled.", id=case_id),
    )


@router.post("/cases/{case_id}/retrieved")
def retrieved(
    request: Request,
    case_id: int,
    session: SessionDep,
    user: TechStaff,
    kiosk_id: FormStr,
    confirmed: OptStr = "",
):
    if not confirmed:
        return _confirm(
            request,
            user,
            _("Kiosk %(k)s retrieved", k=kiosk_id),
            [_("The kiosk leaves the customer's premises in the asset register.")],
            f"/billing/cases/{case_id}/retrieved",
            {"kiosk_id": kiosk_id},
        )
    return _commit_or_refuse(
        session,
        partial(retrieval.mark_retrieved, session, case_id, kiosk_id, user.actor),
        _("Kiosk %(k)s retrieved.", k=kiosk_id),
    )


# --- the outbox ----------------------------------------------------------------------------------------


@router.get("/outbox", response_class=HTMLResponse)
def outbox_page(request: Request, session: SessionDep, user: BillingStaff, status: str = ""):
    q = select(OutboxMail).order_by(col(OutboxMail.id).desc()).limit(300)
    if status:
        q = q.where(OutboxMail.status == status)
    counts = dict(session.exec(select(OutboxMail.status, func.count()).group_by(OutboxMail.status)).all())
    return _page(
        request, user, "billing_outbox.html", mails=session.exec(q).all(), counts=counts, status=status
    )


@router.get("/outbox/{mail_id}", response_class=HTMLResponse)
def outbox_mail(request: Request, mail_id: int, session: SessionDep, user: BillingStaff):
    mail = session.get(OutboxMail, mail_id)
    if mail is None:
        raise HTTPException(404, _("Mail %(id)s does not exist.", id=mail_id))
    return _page(request, user, "billing_mail.html", mail=mail, body=outbox.redacted(mail.body))


@router.post("/outbox/{mail_id}/{action}")
def outbox_action(
    request: Request,
    mail_id: int,
    action: str,
    session: SessionDep,
    user: BillingStaff,
    confirmed: OptStr = "",
):
    if action not in ("cancel", "retry"):
        raise HTTPException(404, _("Unknown action."))
    if not confirmed:
        text = (
            _("The mail is not sent.")
            if action == "cancel"
            else _("The mail is queued again and sent by the next delivery.")
        )
        return _confirm(
            request,
            user,
            _("Cancel mail %(id)s", id=mail_id)
            if action == "cancel"
            else _("Send mail %(id)s again", id=mail_id),
            [text],
            f"/billing/outbox/{mail_id}/{action}",
            {},
        )
    return _commit_or_refuse(
        session,
        partial(outbox.cancel, session, mail_id, user.actor)
        if action == "cancel"
        else partial(outbox.retry, session, mail_id),
        _("Mail %(id)s: done.", id=mail_id),
        refused=outbox.OutboxError,
        back="/billing/outbox",
    )
