"""The living demo's data, seeded idempotently into the demo's own database (never into one that
holds anything else): two customers — a French-speaking joinery in Vaud and a German-speaking
bakery in Bern — with sites, employees and badges, a contract each, three kiosks deployed, a month
of past punches (with a night shift, a missing OUT, a double tap and an unknown badge) and last
month's invoices (one paid, one overdue). Accounts for every role: README "Demo accounts".

Everything goes through the contexts' service functions where they exist (tenancy, HR, fleet,
billing's run, finalize and payments); billing set-up rows (profile, plan, contract) are written
as billing's API writes them until billing has service functions for them."""

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from noxus.core import accounts
from noxus.core.security import Scope
from noxus.core.settings import Settings
from noxus.core.users import User, UserCreate
from noxus.tenancy import service as tenancy
from noxus.tenancy.models import Customer, CustomerCreate, SiteCreate
from sqlmodel import Session, func, select

from firmware.ports.sim.main import DEMO_BADGES

PASSWORD = "noxus-demo-password"  # demo databases only
ACTOR = "demo-seed"
ZONE = ZoneInfo("Europe/Zurich")
ALL = Scope.everything()

# (user name, role, customer key or None, full name, language)
ACCOUNTS = [
    ("demo", "admin", None, "Demo administrator", None),
    ("billing", "billing", None, "Demo billing clerk", None),
    ("tech", "technician", None, "Demo technician", None),
    ("rh.leman", "hr_admin", "vd", "Claire Dubois", None),
    ("hr.aare", "hr_admin", "be", "Hans Roth", None),
    ("viewer.aare", "hr_viewer", "be", "Petra Keller", None),
]
CUSTOMERS = {
    "vd": {
        "name": "Menuiserie du Léman",
        "legal_name": "Menuiserie du Léman Sàrl",
        "vat_number": "CHE-107.787.577 TVA",
        "street": "Rue du Simplon",
        "house_num": "12",
        "postcode": "1800",
        "town": "Vevey",
        "contact_name": "Claire Dubois",
        "contact_email": "claire.dubois@leman.example",
        "language": "fr",
        "canton": "VD",
    },
    "be": {
        "name": "Bäckerei Aare",
        "legal_name": "Bäckerei Aare AG",
        "vat_number": "CHE-116.281.710 MWST",
        "street": "Marktgasse",
        "house_num": "5",
        "postcode": "3011",
        "town": "Bern",
        "contact_name": "Hans Roth",
        "contact_email": "hans.roth@aare.example",
        "language": "de",
        "canton": "BE",
    },
}
SITES = {
    "vd": [
        ("Atelier Vevey", "Rue du Simplon 12, 1800 Vevey", "VD"),
        ("Showroom Lausanne", "Avenue de la Gare 3, 1003 Lausanne", "VD"),
    ],
    "be": [("Backstube Bern", "Marktgasse 5, 3011 Bern", "BE")],
}
# kiosk -> (customer key, site index); the live simulated kiosks tap these customers' badges
KIOSKS = {"DEMO-1": ("vd", 0), "DEMO-2": ("vd", 1), "DEMO-3": ("be", 0)}
FIRST = {
    "vd": [
        "Léa",
        "Luc",
        "Chloé",
        "Noah",
        "Emma",
        "Julien",
        "Sarah",
        "Hugo",
        "Inès",
        "Théo",
        "Manon",
        "Louis",
    ],
    "be": [
        "Anna",
        "Lukas",
        "Mia",
        "Jonas",
        "Lea",
        "Noah",
        "Laura",
        "Elias",
        "Lena",
        "David",
        "Nina",
        "Tim",
        "Sara",
    ],
}
LAST = {
    "vd": [
        "Dupré",
        "Favre",
        "Rochat",
        "Bonvin",
        "Pittet",
        "Girard",
        "Morel",
        "Perrin",
        "Blanc",
        "Rey",
        "Roux",
        "Monnier",
    ],
    "be": [
        "Müller",
        "Meier",
        "Schmid",
        "Keller",
        "Weber",
        "Huber",
        "Frei",
        "Baumann",
        "Graf",
        "Brunner",
        "Zürcher",
        "Moser",
        "Wyss",
    ],
}
UNKNOWN_BADGE = "04DEAD01"


class NotADemoDatabase(RuntimeError):
    pass


def live_badges(key: str) -> list[str]:
    """The UIDs the customer's live simulated kiosks tap (devstack.demo gives each kiosk its list)."""
    half = len(DEMO_BADGES) // 2
    chosen = DEMO_BADGES[:half] if key == "vd" else DEMO_BADGES[half:]
    return [b.hex().upper() for b in chosen]


def _badge_uid(key: str, n: int) -> str:
    live = live_badges(key)
    if n < len(live):
        return live[n]
    return f"04{'B1' if key == 'vd' else 'B2'}{n:04X}"


def check_demo_database(session: Session) -> bool:
    """True when the demo is already there; raises when the database holds anything else."""
    names = {c["name"] for c in CUSTOMERS.values()}
    users = {a[0] for a in ACCOUNTS}
    others = session.exec(select(Customer.name).where(Customer.name.not_in(names))).all()
    strangers = session.exec(select(User.username).where(User.username.not_in(users))).all()
    if others or strangers:
        raise NotADemoDatabase(
            "this database holds data that is not the demo's (customers "
            f"{sorted(others)[:3]}, users {sorted(strangers)[:3]}): the demo seeds only its own "
            "database (NOXUS_DATABASE_URL unset, var/noxus.db)"
        )
    return session.exec(select(func.count()).select_from(Customer)).one() > 0


def seed(session: Session, settings: Settings, today: date | None = None) -> bool:
    """Seed once; returns False when the demo was already there."""
    if check_demo_database(session):
        _accounts(session, {})  # accounts added to the demo later still appear
        session.commit()
        return False
    today = today or datetime.now(ZONE).date()
    first_of_month = today.replace(day=1)
    last_month = (first_of_month - timedelta(days=1)).replace(day=1)
    start = last_month - timedelta(days=7)  # contracts, kiosks and employees from a week before
    customers, sites = {}, {}
    for key, data in CUSTOMERS.items():
        c = tenancy.create_customer(session, CustomerCreate(**data), ACTOR)
        c.created_at = datetime.combine(start, time(8), ZONE).astimezone(UTC)
        customers[key] = c
        sites[key] = [
            tenancy.create_site(
                session, ALL, SiteCreate(customer_id=c.id, name=n, address=a, canton=k), ACTOR
            )
            for n, a, k in SITES[key]
        ]
    _accounts(session, customers)
    employees = _employees(session, customers, sites, start)
    _kiosks(session, customers, sites, start)
    _billing(session, customers, start)
    session.commit()
    _punches(session, employees, last_month, today)
    session.commit()
    _invoices(session, settings, customers, last_month, today)
    session.commit()
    return True


def _accounts(session: Session, customers: dict) -> None:
    for username, role, key, full_name, language in ACCOUNTS:
        if accounts.get_user(session, username) is not None:
            continue
        if key is not None and key not in customers:
            continue
        user = accounts.create_user(
            session,
            UserCreate(
                username=username,
                full_name=full_name,
                role=role,
                password=PASSWORD,
                customer_id=customers[key].id if key else None,
            ),
        )
        user.email = f"{username}@demo.noxus.example"
        user.language = language
        session.add(user)


def _employees(session: Session, customers: dict, sites: dict, start: date) -> dict:
    from noxus.hr import badges, employees
    from noxus.hr.schemas import BadgeAssign, EmployeeCreate

    out: dict[str, list[tuple[object, str]]] = {}
    for key, c in customers.items():
        out[key] = []
        for n, (first, last) in enumerate(zip(FIRST[key], LAST[key], strict=True)):
            site = sites[key][n % len(sites[key])]
            emp = employees.create(
                session,
                c.id,
                EmployeeCreate(
                    first_name=first,
                    last_name=last,
                    personnel_number=f"{n + 1:03d}",
                    active_from=start,
                    weekly_minutes=2520 if key == "vd" else 2460,
                    site_id=site.id,
                ),
                ACTOR,
            )
            uid = _badge_uid(key, n)
            badges.assign(
                session,
                ALL,
                BadgeAssign(uid=uid, employee_id=emp.id, valid_from=datetime.combine(start, time(0), ZONE)),
                ACTOR,
            )
            out[key].append((emp, uid))
    return out


def _kiosks(session: Session, customers: dict, sites: dict, start: date) -> None:
    from noxus.fleet import service
    from noxus.fleet import status as lifecycle
    from noxus.fleet.models import Kiosk, KioskCreate

    for n, (kiosk_id, (key, site_no)) in enumerate(KIOSKS.items(), start=1):
        kiosk = session.get(Kiosk, kiosk_id) or service.register(
            session,
            KioskCreate(id=kiosk_id, name=f"Demo kiosk {n}", model="sim", serial=f"SIM-{n:04d}"),
            ACTOR,
        )
        session.flush()
        if kiosk.status == "in_stock":
            lifecycle.change_status(
                session,
                kiosk,
                "deployed",
                ACTOR,
                site_id=sites[key][site_no].id,
                at=datetime.combine(start, time(9), ZONE).astimezone(UTC),
                reason="demo",
            )


def _billing(session: Session, customers: dict, start: date) -> None:
    from noxus.billing.models import BillingProfile, Contract, ContractKiosk, Plan, PlanVersion

    plan = Plan(code="DEMO-STANDARD", name="NoxusTime Standard")
    session.add(plan)
    session.flush()
    session.add(
        PlanVersion(
            plan_id=plan.id,
            effective_from=start - timedelta(days=365),
            monthly_fee=12000,
            monthly_fee_per_kiosk=450,
            users_included=10,
            price_per_additional_user=350,
            setup_fee=0,
        )
    )
    for key, c in customers.items():
        session.add(
            BillingProfile(
                customer_id=c.id,
                legal_name=c.legal_name,
                street=c.street,
                house_num=c.house_num,
                postcode=c.postcode,
                town=c.town,
                country=c.country,
                invoice_email=c.contact_email,
                language=c.language,
                contact_name=c.contact_name,
                contact_email=c.contact_email,
                contact_street=c.street,
                contact_house_num=c.house_num,
                contact_postcode=c.postcode,
                contact_town=c.town,
            )
        )
        contract = Contract(customer_id=c.id, plan_id=plan.id, start_date=start)
        session.add(contract)
        session.flush()
        for kiosk_id, (k, _site) in KIOSKS.items():
            if k == key:
                session.add(ContractKiosk(contract_id=contract.id, kiosk_id=kiosk_id, attached_on=start))


def _punch_rows(employees: dict, first: date, until: date):
    """(kiosk, uid, local datetime) of a plausible month: IN about 8:00, OUT about 17:00 on working
    days; one night shift, one missing OUT, one double tap, one unknown badge."""
    rnd = random.Random(2026)
    kiosk_of = {key: [k for k, (kk, _s) in KIOSKS.items() if kk == key] for key in employees}
    day = first
    while day < until:
        if day.weekday() < 5:
            for key, people in employees.items():
                for n, (_emp, uid) in enumerate(people):
                    kiosk = kiosk_of[key][n % len(kiosk_of[key])]
                    if key == "be" and n == 0:  # the baker: night shift, 22:00 to 06:00 the next day
                        yield kiosk, uid, datetime.combine(day, time(22, rnd.randint(0, 9)))
                        yield (
                            kiosk,
                            uid,
                            datetime.combine(day + timedelta(days=1), time(6, rnd.randint(0, 9))),
                        )
                        continue
                    yield kiosk, uid, datetime.combine(day, time(7, 45 + rnd.randint(0, 14)))
                    if key == "vd" and n == 1 and day.day == 12:
                        continue  # Luc forgot to badge out: a missing OUT
                    yield kiosk, uid, datetime.combine(day, time(17, rnd.randint(0, 29)))
        day += timedelta(days=1)
    tap = datetime.combine(first + timedelta(days=9), time(8, 1, 5))
    yield "DEMO-1", employees["vd"][2][1], tap  # a double tap, seconds after the first
    yield "DEMO-1", employees["vd"][2][1], tap + timedelta(seconds=2)
    yield "DEMO-3", UNKNOWN_BADGE, datetime.combine(first + timedelta(days=3), time(8, 30))  # unknown badge


def _punches(session: Session, employees: dict, first: date, today: date) -> None:
    """Past punches as the kiosks would have sent them, in a journal epoch of their own (1) so the
    live simulated kiosks (epoch of their fresh journal) never collide with them."""
    from noxus.ingest.models import Punch

    seq: dict[str, int] = {}
    rows = sorted(_punch_rows(employees, first, today), key=lambda r: r[2])
    for kiosk, uid, local in rows:
        ts = local.replace(tzinfo=ZONE).astimezone(UTC)
        if ts >= datetime.now(UTC):
            continue
        seq[kiosk] = seq.get(kiosk, 0) + 1
        session.add(
            Punch(kiosk_id=kiosk, epoch=1, seq=seq[kiosk], badge_uid=uid, kind="punch", ts=ts, received_at=ts)
        )


def _invoices(session: Session, settings: Settings, customers: dict, last_month: date, today: date) -> None:
    """Last month's run: the Vaud joinery paid, the Bern bakery's invoice is overdue."""
    from noxus.billing import payments
    from noxus.billing.models import Invoice
    from noxus.billing.run import run_month

    issue = last_month.replace(day=1) if (today - last_month).days > 15 else last_month
    run_month(
        session, last_month, settings, today=issue, issue=True, actor=ACTOR
    )  # seeded history: issued then
    session.commit()
    invoices = {i.customer_id: i for i in session.exec(select(Invoice).where(Invoice.period == last_month))}
    paid = invoices.get(customers["vd"].id)
    if paid is not None and paid.status == "open" and paid.total > 0:
        payments.record(
            session,
            bank_ref="DEMO-PAYMENT-1",
            amount=paid.total,
            value_date=issue + timedelta(days=8),
            source="manual",
            reference=paid.reference,
            debtor_name=paid and customers["vd"].legal_name,
            actor=ACTOR,
        )
