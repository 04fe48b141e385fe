"""The kiosk's display texts come from the catalogs, in the language of the kiosk's customer,
pushed in its retained config; they fit the display and the firmware accepts them."""

from datetime import UTC, datetime

import pytest
from noxus.fleet import commands
from noxus.fleet.display_texts import display_texts
from noxus.fleet.models import Kiosk
from noxus.tenancy.models import Customer, Site
from sqlmodel import Session

from firmware.core import claim
from firmware.core.fleet.config import validate
from firmware.core.ui.pins import TEXTS
from tests.firmware.german_texts import GERMAN

BUILT_IN = {**TEXTS, claim.TEXT_KEY: claim.TEXT}


def _kiosk(engine, language: str) -> dict:
    with Session(engine) as s:
        c = Customer(name="Bäckerei Bern AG", language=language)
        s.add(c)
        s.flush()
        site = Site(customer_id=c.id, name="Bern")
        s.add(site)
        s.flush()
        kiosk = Kiosk(id=f"K-{language}", customer_id=c.id, site_id=site.id, status="deployed")
        s.add(kiosk)
        s.commit()
        return commands.build_config(s, kiosk, "Europe/Zurich", datetime(2026, 3, 1, tzinfo=UTC))


def test_a_german_customers_kiosk_gets_german_display_texts_in_its_config(engine):
    texts = _kiosk(engine, "de")["texts"]
    for key, lines in GERMAN.items():
        assert texts[key] == lines, key
    assert texts["memory full"] == ["Speicher voll", "NICHT erfasst"]


def test_french_texts_are_the_firmwares_built_in_ones():
    texts = display_texts("fr", claim=True)
    assert set(texts) == set(BUILT_IN)
    for key, lines in texts.items():
        assert [x for x in lines if x] == [x for x in BUILT_IN[key] if x], key


def test_the_claim_codes_text_stays_out_of_the_config_a_running_kiosk_keeps_on_its_heap(engine):
    assert claim.TEXT_KEY not in _kiosk(engine, "it")["texts"]
    assert claim.TEXT_KEY not in TEXTS
    assert display_texts("it", claim=True)[claim.TEXT_KEY] == ["Codice:"]


@pytest.mark.parametrize("language", ["fr", "de", "it", "en"])
def test_every_languages_texts_fit_the_display_and_pass_the_firmwares_check(language):
    texts = display_texts(language, claim=True)
    cfg, _badges, err = validate({"config_version": 2, "texts": texts}, 1)
    assert err is None and cfg["texts"] == texts
    assert all(1 <= len(v) <= 2 and all(len(x) <= 16 and x.isascii() for x in v) for v in texts.values())


def test_a_kiosk_in_stock_speaks_french(engine):
    with Session(engine) as s:
        kiosk = Kiosk(id="K-stock", status="in_stock")
        s.add(kiosk)
        s.commit()
        config = commands.build_config(s, kiosk, "Europe/Zurich", datetime(2026, 3, 1, tzinfo=UTC))
    assert config["texts"]["accepted"] == ["Bonjour"]
