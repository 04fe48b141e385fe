"""Production refuses to run billing with the creditor data NoxusTime ships as placeholders:
invoices would be payable to a sample IBAN under a made-up VAT number. `problems()` names each
setting to set; `NOXUS_BILLING_DEMO=1` (the demo, the tests) accepts them."""

from noxus.core.settings import Settings

# The shipped defaults of core/settings.py, and earlier ones (an old .env copied along).
PLACEHOLDERS = {
    "billing_creditor_name": {"NOXUS Informatique SàRL", "NOXUS Informatique SA"},
    "billing_creditor_street": {"Rue de la Gare"},
    "billing_creditor_postcode": {"1003"},
    "billing_creditor_town": {"Lausanne"},
    "billing_vat_number": {"CHE-123.456.789 TVA", "CHE-123.456.789 MWST"},
    "billing_iban": {"CH4431999123000889012", "CH9300762011623852957"},
}


def problems(settings: Settings) -> list[str]:
    """One sentence per creditor setting that is empty or a shipped placeholder ([] when fine)."""
    if settings.billing_demo:
        return []
    out = []
    for name, shipped in PLACEHOLDERS.items():
        value = (getattr(settings, name) or "").strip()
        env = "NOXUS_" + name.upper()
        if not value:
            out.append(f"{env} is empty: set the creditor's real value before billing")
        elif value.replace(" ", "") in {s.replace(" ", "") for s in shipped}:
            out.append(
                f"{env} is the shipped placeholder {value!r}: set NOXUS' real value "
                "(or NOXUS_BILLING_DEMO=1 for a demo)"
            )
    return out


def check(settings: Settings) -> None:
    """Raise at start-up when production would bill with placeholder creditor data."""
    found = problems(settings)
    if found:
        raise SystemExit(
            "NoxusTime refuses to start: invoices would carry placeholder creditor data.\n  "
            + "\n  ".join(found)
        )
