"""Prices in force for a contract on a date: the plan's price list version (§6.2: an old
invoice keeps its prices, because lines are priced at their service date and stored), replaced
by the contract's own index-revised prices once a revision takes effect."""

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlmodel import Session, col, select

from noxus.billing.models import Contract, PlanVersion, PriceIndex, PriceRevision
from noxus.billing.money import round_centimes
from noxus.core.types import id_of


@dataclass(frozen=True)
class Prices:
    monthly_fee: int
    monthly_fee_per_kiosk: int
    users_included: int
    price_per_additional_user: int
    setup_fee: int


class PricingError(ValueError):
    pass


def plan_version_on(session: Session, plan_id: int, day: date) -> PlanVersion:
    version = session.exec(
        select(PlanVersion)
        .where(PlanVersion.plan_id == plan_id, PlanVersion.effective_from <= day)
        .order_by(col(PlanVersion.effective_from).desc())
        .limit(1)
    ).first()
    if version is None:
        raise PricingError(
            f"plan {plan_id} has no price list version in force on {day}; "
            "add one with an earlier effective date"
        )
    return version


def prices_on(session: Session, contract: Contract, day: date) -> Prices:
    v = plan_version_on(session, contract.plan_id, day)
    prices = Prices(
        v.monthly_fee, v.monthly_fee_per_kiosk, v.users_included, v.price_per_additional_user, v.setup_fee
    )
    rev = session.exec(
        select(PriceRevision)
        .where(PriceRevision.contract_id == contract.id, PriceRevision.effective_from <= day)
        .order_by(col(PriceRevision.effective_from).desc())
        .limit(1)
    ).first()
    # A price list version newer than the revision re-bases the contract on the new list.
    if rev is not None and rev.effective_from >= v.effective_from:
        prices = Prices(
            rev.monthly_fee,
            rev.monthly_fee_per_kiosk,
            v.users_included,
            rev.price_per_additional_user,
            v.setup_fee,
        )
    return prices


class PriceBook:
    """Every price list version and the revisions of a set of contracts, loaded once (the monthly
    run): `on` answers what `prices_on` answers, without a query."""

    def __init__(self, session: Session, contract_ids=None) -> None:
        """`contract_ids`: a list or a SELECT of contract ids (all contracts when None)."""
        self.versions: dict[int, list[PlanVersion]] = {}
        for v in session.exec(
            select(PlanVersion).order_by(col(PlanVersion.plan_id), col(PlanVersion.effective_from))
        ):
            self.versions.setdefault(v.plan_id, []).append(v)
        self._starts = {pid: [v.effective_from for v in vs] for pid, vs in self.versions.items()}
        q = select(PriceRevision).order_by(col(PriceRevision.contract_id), col(PriceRevision.effective_from))
        if contract_ids is not None:
            q = q.where(col(PriceRevision.contract_id).in_(contract_ids))
        self.revisions: dict[int, list[PriceRevision]] = {}
        for r in session.exec(q):
            self.revisions.setdefault(r.contract_id, []).append(r)
        self._rev_starts = {cid: [r.effective_from for r in rs] for cid, rs in self.revisions.items()}

    def on(self, plan_id: int, contract_id: int, day: date) -> Prices:
        i = bisect_right(self._starts.get(plan_id, []), day)
        if i == 0:
            raise PricingError(
                f"plan {plan_id} has no price list version in force on {day}; "
                "add one with an earlier effective date"
            )
        v = self.versions[plan_id][i - 1]
        j = bisect_right(self._rev_starts.get(contract_id, []), day)
        rev = self.revisions[contract_id][j - 1] if j else None
        if rev is not None and rev.effective_from >= v.effective_from:
            return Prices(
                rev.monthly_fee,
                rev.monthly_fee_per_kiosk,
                v.users_included,
                rev.price_per_additional_user,
                v.setup_fee,
            )
        return Prices(
            v.monthly_fee, v.monthly_fee_per_kiosk, v.users_included, v.price_per_additional_user, v.setup_fee
        )


def index_value(session: Session, year: int, name: str = "CPI") -> Decimal:
    row = session.exec(select(PriceIndex).where(PriceIndex.name == name, PriceIndex.year == year)).first()
    if row is None:
        raise PricingError(f"index {name} has no value for {year}; enter it before revising prices")
    return Decimal(row.value)


def revise_prices(
    session: Session,
    contract: Contract,
    year: int,
    announced_on: date,
    effective_from: date,
    *,
    cap_bp: int = 500,
    notice_days: int = 30,
    index_name: str = "CPI",
) -> PriceRevision:
    """Annual revision P(N) = P(N-1) x I(N) / I(N-1), the factor capped at 1 + cap (default 5 %),
    effective no earlier than `notice_days` after the customer was told."""
    if not contract.index_revision:
        raise PricingError(f"contract {contract.id} has no index clause; set index_revision first")
    if (effective_from - announced_on).days < notice_days:
        raise PricingError(
            f"a revision must be announced {notice_days} days ahead: "
            f"announced {announced_on}, effective {effective_from}"
        )
    existing = session.exec(
        select(PriceRevision).where(
            PriceRevision.contract_id == contract.id, PriceRevision.effective_from == effective_from
        )
    ).first()
    if existing is not None:
        return existing
    prev, cur = index_value(session, year - 1, index_name), index_value(session, year, index_name)
    factor = min(cur / prev, 1 + Decimal(cap_bp) / 10000)
    base = prices_on(session, contract, effective_from)
    rev = PriceRevision(
        contract_id=id_of(contract),
        effective_from=effective_from,
        announced_on=announced_on,
        index_previous=str(prev),
        index_current=str(cur),
        factor=str(factor.quantize(Decimal("0.000001"))),
        monthly_fee=round_centimes(base.monthly_fee * factor),
        monthly_fee_per_kiosk=round_centimes(base.monthly_fee_per_kiosk * factor),
        price_per_additional_user=round_centimes(base.price_per_additional_user * factor),
    )
    session.add(rev)
    return rev
