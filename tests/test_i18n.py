"""Languages: complete catalogs, Swiss formatting, the language of a page, error pages for people."""

import pathlib
import shutil
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from noxus.core import i18n

ROOT = pathlib.Path(__file__).resolve().parent.parent
LOCALE = ROOT / "backend" / "noxus" / "locale"
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "lazy_gettext": None,
    "translate_in": (2,),
}


def _source_messages() -> set[str]:
    found: set[str] = set()
    method_map = [("backend/noxus/**.py", "python"), ("backend/noxus/web/templates/**.html", "jinja2")]
    options = {"backend/noxus/web/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    for _file, _line, msg, _comments, _ctx in extract_from_dir(
        str(ROOT), method_map, options_map=options, keywords=KEYWORDS
    ):
        found.add(msg[0] if isinstance(msg, tuple) else msg)
    return found


@pytest.mark.parametrize("lang", ["fr", "de", "en"])
def test_every_string_of_code_and_templates_is_translated_in_fr_de_en(lang):
    with (LOCALE / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale=lang)
    translated = {
        m.id if isinstance(m.id, str) else m.id[0]
        for m in catalog
        if m.id and m.string and (m.string if isinstance(m.string, str) else all(m.string))
    }
    missing = sorted(_source_messages() - translated)
    assert not missing, (
        f"{len(missing)} strings lack a {lang} translation (run `make i18n`, then translate): {missing[:10]}"
    )


@pytest.mark.parametrize("lang", ["fr", "de", "it", "en"])
def test_a_plural_is_translated_in_every_form_of_the_language_or_in_none(lang):
    """Italian and French have three forms (CLDR: one, many, other): an empty one would show the
    English msgid for 5 people while 1 is translated."""
    with (LOCALE / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale=lang)
    half = [m.id for m in catalog if isinstance(m.string, tuple) and any(m.string) and not all(m.string)]
    assert not half, f"{lang}: plural forms left empty in {half}"
    with i18n.use_language(lang):
        five = i18n.ngettext("%(num)d person is in", "%(num)d people are in", 5)
    assert lang == "en" or five != "5 people are in"


def test_italian_falls_back_to_french_where_untranslated(tmp_path, monkeypatch):
    with i18n.use_language("it"):
        assert i18n.gettext("This field is required.") == "Questo campo è obbligatorio."
    # an Italian catalog that lacks a sentence (a newer one, not translated yet): French answers
    (tmp_path / "it" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "it" / "LC_MESSAGES" / "messages.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n', encoding="utf-8"
    )
    shutil.copytree(LOCALE / "fr", tmp_path / "fr")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.translations.cache_clear()
    try:
        with i18n.use_language("it"):
            assert i18n.gettext("This field is required.") == "Ce champ est obligatoire."
    finally:
        i18n.translations.cache_clear()  # the next test compiles the real catalogs again


def test_money_is_written_with_the_swiss_apostrophe_and_point_in_every_language():
    for lang in ("fr", "de", "en"):
        with i18n.use_language(lang):
            assert i18n.format_chf(123450) == "CHF\u00a01'234.50"
            assert i18n.format_chf(Decimal(-20)) == "CHF\u00a0-20.00"
            # Babel alone drops a pair of apostrophes as a quoted literal: 1234567.89 lost its grouping
            assert i18n.format_chf(123456789) == "CHF\u00a01'234'567.89"


def test_large_numbers_keep_every_group_separator_and_rates_lose_needless_zeros():
    with i18n.use_language("de"):
        assert i18n.format_decimal(Decimal("1234567.5")) == "1'234'567.50"
        assert (i18n.format_rate(810), i18n.format_rate(800)) == ("8.1", "8")
    with i18n.use_language("fr"):
        assert i18n.format_decimal(Decimal("1234567.5")) == "1'234'567,50"
        assert i18n.format_rate(770) == "7,7"


def test_dates_are_dd_mm_yyyy_and_times_24h_in_the_site_zone():
    with i18n.use_language("de"):
        assert i18n.format_date(date(2026, 3, 5)) == "05.03.2026"
        # 23:30 UTC on 31 March is 1 April 01:30 in Zurich (summer time)
        assert (
            i18n.format_datetime(datetime(2026, 3, 31, 23, 30, tzinfo=UTC), "Europe/Zurich")
            == "01.04.2026 01:30"
        )
        assert i18n.format_month(2026, 3) == "März 2026"


def test_accept_language_picks_the_best_language_we_speak():
    assert i18n.from_accept_language("es-ES,de-CH;q=0.8,fr;q=0.9") == "fr"
    assert i18n.from_accept_language("de-CH, en;q=0.5") == "de"
    assert i18n.from_accept_language("es, pt") is None
    assert i18n.negotiate("xx", None, "en-GB") == "en"


@pytest.fixture
def browser(noxus_app):
    from fastapi.testclient import TestClient

    return TestClient(noxus_app, base_url="https://testserver", headers={"accept": "text/html"})


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_lang_parameter_sets_the_page_language_and_is_remembered(browser):
    page = browser.get("/login?lang=de")
    assert page.status_code == 200
    assert '<html lang="de">' in page.text
    assert browser.cookies.get(i18n.COOKIE) == "de"
    again = browser.get("/login", headers={"accept-language": "fr"})
    assert '<html lang="de">' in again.text  # the person's choice beats the browser's


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_browser_language_is_used_without_a_choice(browser):
    assert '<html lang="fr">' in browser.get("/login", headers={"accept-language": "fr-CH"}).text
    assert '<html lang="en">' in browser.get("/login", headers={"accept-language": "en"}).text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_unknown_page_is_an_html_page_in_the_persons_language_and_json_for_the_api(browser, login_as):
    login_as("admin")
    page = browser.get("/no-such-page", headers={"accept-language": "de"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Diese Seite existiert nicht" in page.text and '<html lang="de">' in page.text
    api = browser.get("/api/v1/no-such-thing", headers={"accept": "application/json"})
    assert api.status_code == 404 and api.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_refused_page_says_why_in_html(browser, login_as):
    login_as("hr_viewer", customer_id=1)
    page = browser.get("/billing", headers={"accept-language": "fr"})
    assert page.status_code == 403
    assert "Vous ne pouvez pas ouvrir cette page" in page.text
    assert "detail" not in page.text
