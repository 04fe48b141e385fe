"""Inviting people: a user is created without a password and receives, through the outbox, a
one-time link to set it (docs/security.md "Invitations"). The link's token is stored only as a
hash, works once and expires after NOXUS_INVITATION_HOURS.

Who may invite whom: NOXUS administrators anyone; billing staff customer users of any customer;
a customer's HR admin colleagues of the same customer only (HR admin or HR viewer)."""

from typing import Annotated

from fastapi import Depends
from sqlmodel import Session

from noxus.core import accounts
from noxus.core.audit import record as audit
from noxus.core.i18n import gettext as _
from noxus.core.i18n import lazy_gettext, use_language
from noxus.core.outbox import enqueue
from noxus.core.security import CUSTOMER_ROLES, Principal, Role, Scope, require_roles
from noxus.core.settings import Settings
from noxus.core.users import User, UserCreate
from noxus.tenancy.service import customer_language

ROLE_NAMES = {
    Role.ADMIN: lazy_gettext("NOXUS administrator"),
    Role.BILLING: lazy_gettext("NOXUS billing"),
    Role.TECHNICIAN: lazy_gettext("NOXUS technician"),
    Role.HR_ADMIN: lazy_gettext("HR administrator"),
    Role.HR_VIEWER: lazy_gettext("HR viewer"),
}


# NOXUS admins (everyone), billing staff (customers' users), a customer's HR admin (its colleagues)
UserManager = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.BILLING, Role.HR_ADMIN))]


class InvitationError(ValueError):
    def __init__(self, message: str, field: str | None = None, status: int = 400):
        super().__init__(message)
        self.field = field
        self.status = status


def grantable_roles(actor: Principal) -> list[Role]:
    """The roles `actor` may give (in invitations and role changes)."""
    if actor.role == Role.ADMIN:
        return list(Role)
    if actor.role in (Role.BILLING, Role.HR_ADMIN):
        return [Role.HR_ADMIN, Role.HR_VIEWER]
    return []


def check_grant(actor: Principal, scope: Scope, role: Role, customer_id: int | None) -> int | None:
    """The customer the new user belongs to, or InvitationError saying what is wrong."""
    if role not in grantable_roles(actor):
        raise InvitationError(
            _("Your role may not give the role %(role)s.", role=str(ROLE_NAMES[role])),
            field="role",
            status=403,
        )
    if role in CUSTOMER_ROLES:
        own = scope.own_customer_id
        if own is not None:
            if customer_id is not None and customer_id != own:
                raise InvitationError(
                    _("You may invite colleagues of your own company only."), field="customer_id", status=404
                )
            return own
        if customer_id is None:
            raise InvitationError(_("Choose the customer this person works for."), field="customer_id")
        return customer_id
    if customer_id is not None:
        raise InvitationError(
            _("NOXUS staff belong to no customer: leave the customer empty."), field="customer_id"
        )
    return None


def visible(scope: Scope, actor: Principal, u: User) -> bool:
    """Admins see everyone; billing staff see customers' users; an HR admin their colleagues."""
    if actor.role == Role.ADMIN:
        return True
    if u.customer_id is None:
        return False
    return scope.allows(u.customer_id)


def user_language(session: Session, user: User) -> str:
    return (
        user.language or (customer_language(session, user.customer_id) if user.customer_id else None) or "fr"
    )


def send_invitation(session: Session, settings: Settings, user: User, actor: str) -> None:
    """A new link for `user` (older links stop working) and the e-mail carrying it."""
    if not user.email:
        raise InvitationError(_("User %(name)s has no e-mail address.", name=user.username), field="email")
    _inv, raw = accounts.create_invitation(session, user, actor, settings.invitation_hours)
    link = f"{settings.public_url.rstrip('/')}/invitation/{raw}"
    with use_language(user_language(session, user)):
        subject = _("Your NoxusTime account")
        body = _(
            "Hello %(name)s,\n\nYou are invited to NoxusTime as %(role)s. Your user name is %(username)s.\n"
            "Choose your password with this link; it works once and expires in %(hours)s hours:\n\n"
            "%(link)s\n\nIf you did not expect this e-mail, ignore it.\n\nNOXUS Informatique",
            name=user.full_name or user.username,
            role=str(ROLE_NAMES[Role(user.role)]),
            username=user.username,
            hours=settings.invitation_hours,
            link=link,
        )
    enqueue(session, user.email, subject, body, category="invitation", customer_id=user.customer_id)
    audit(session, actor, "invite", "user", user.id, user.customer_id, {"email": user.email})


def invite(
    session: Session,
    settings: Settings,
    actor: Principal,
    scope: Scope,
    *,
    email: str,
    full_name: str,
    role: Role,
    customer_id: int | None,
    language: str | None,
    username: str | None = None,
) -> User:
    """Create the user (no password yet) and send the invitation; the caller commits."""
    customer_id = check_grant(actor, scope, role, customer_id)
    username = (username or email).lower()
    if accounts.get_user(session, username) is not None:
        raise InvitationError(_("A user %(name)s already exists.", name=username), field="email", status=409)
    try:
        user = accounts.create_user(
            session,
            UserCreate(username=username, full_name=full_name, role=role.value, customer_id=customer_id),
        )
    except accounts.AccountError as e:
        raise InvitationError(str(e), field="email") from None
    user.email = email
    user.language = language
    session.add(user)
    audit(
        session,
        actor.actor,
        "create",
        "user",
        user.id,
        user.customer_id,
        {"role": user.role, "username": user.username},
    )
    send_invitation(session, settings, user, actor.actor)
    return user
