"""Every page a person can open, in a real browser (Debian's chromium through Playwright; no
browser is downloaded), in French, German and English, at 1 366 px and 390 px:

- `<html lang>` is the language asked for;
- nothing scrolls sideways (wide tables scroll inside their own box);
- a German page shows no English sentence of the catalog (an untranslated string);
- axe-core finds no serious or critical accessibility violation;
- posting a form with bad input gives an HTML page — never a 500, never Python or Pydantic text —
  and a refused form keeps what was typed, with a message at the field.

Pages are found from the application's own routes, so a page added later is covered as well."""

import os
import re
import subprocess
import time
from datetime import UTC, datetime

import httpx
import pytest
from babel.messages.pofile import read_po
from noxus.core.db import make_engine
from sqlmodel import Session

from tests.hr.conftest import World
from tests.support.browser import ARGS, CHROMIUM, free_port
from tests.support.server import uvicorn_command

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AXE = os.path.join(ROOT, "node_modules", "axe-core", "axe.min.js")
PASSWORD = "correct horse battery staple"
WIDTHS = tuple(int(w) for w in os.environ.get("NOXUS_UI_WIDTHS", "1366,390").split(","))
LANGS = ("fr", "de", "en")
# Text that must never reach a page: it is a developer's, not a person's.
DEVELOPER_TEXT = re.compile(
    r"errors\.pydantic\.dev|Traceback \(most recent|value_error|could not convert|"
    r"Input should be|Field required|\{\"detail\"",
    re.IGNORECASE,
)

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM),
        reason="Debian's chromium is not installed (apt-get install chromium; make test-deps does it)",
    ),
    pytest.mark.slow,
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """uvicorn on a free port with two customers, an employee, a kiosk and one user per role."""
    from noxus.core.accounts import create_user
    from noxus.core.migrate import upgrade
    from noxus.core.users import UserCreate

    tmp = tmp_path_factory.mktemp("ui")
    url = f"sqlite:///{tmp / 'ui.db'}"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as s:
        w = World(s)
        emp = w.employee(first="Léa", last="Dupré", number="007", uid="04A1B2C3")
        w.punch("04A1B2C3", datetime(2026, 3, 2, 7, tzinfo=UTC))
        for role in ("admin", "billing", "technician"):
            create_user(s, UserCreate(username=role, role=role, password=PASSWORD))
        for role in ("hr_admin", "hr_viewer"):
            create_user(s, UserCreate(username=role, role=role, customer_id=w.a.id, password=PASSWORD))
        from noxus.core.settings import Settings
        from noxus.fleet.enrollment import ClaimOpen, open_claim

        # a kiosk waiting with a claim code: the claims page shows its row and its cancel form
        open_claim(s, Settings(), ClaimOpen(board_uid="E1E1E1E1E1E1E1E1", code="UIUIU-CLAIM"))
        s.commit()
        ids = {"employee_id": emp.id, "customer_id": w.a.id, "site_id": w.site_a.id, "kiosk_id": "K1"}
    engine.dispose()
    port = free_port()
    env = {
        **os.environ,
        "NOXUS_DATABASE_URL": url,
        "NOXUS_COOKIE_SECURE": "false",  # fake creditor: tests/conftest
        "NOXUS_MQTT_PORT": str(free_port()),
    }
    proc = subprocess.Popen(
        uvicorn_command(port),
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                raise RuntimeError("the API did not start")
            time.sleep(0.1)
        yield base, ids
    finally:
        proc.terminate()
        proc.wait(10)


def _pages(ids: dict) -> dict[str, list[str]]:
    """role -> the HTML pages it may open (GET routes outside the JSON API, path ids filled in)."""
    from noxus.core.security import route_policy
    from noxus.main import create_app

    from tests.security.test_route_policies import all_routes

    skip = ("/api/", "/static", "/docs", "/redoc", "/openapi", "/metrics", "/healthz", "/readyz", "/logout")
    out: dict[str, list[str]] = {}
    for route in all_routes(create_app()):
        path = getattr(route, "path_format", None) or getattr(route, "path", "")
        if "GET" not in (getattr(route, "methods", None) or ()) or path.startswith(skip):
            continue
        if any(
            token in path for token in ("export", "download", ".csv", ".pdf", ".xlsx", "/stream", "/events")
        ):
            continue  # files and event streams, not pages
        params = re.findall(r"\{(\w+)\}", path)
        if any(p not in ids for p in params):
            continue
        url = path.format(**{p: ids[p] for p in params})
        policy = route_policy(route)
        everyone = ("admin", "billing", "technician", "hr_admin", "hr_viewer")
        roles = everyone if policy == "public" else [r.value for r in policy or ()]
        for role in roles:
            out.setdefault(role, []).append(url)
    return out


def _english_sentences() -> set[str]:
    """English source strings that German translates differently (at least three words, so that
    names and shared words like "Badge" or "Firmware" do not count)."""
    with open(os.path.join(ROOT, "backend/noxus/locale/de/LC_MESSAGES/messages.po"), "rb") as f:
        cat = read_po(f, locale="de")
    return {
        m.id
        for m in cat
        if isinstance(m.id, str)
        and m.string
        and m.string != m.id
        and len(m.id.split()) >= 3
        and "%" not in m.id
        and "{" not in m.id
    }


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


def _logged_in(browser, base: str, role: str, width: int):
    # bypass_csp: only so that the test can inject axe-core; the pages keep their strict CSP
    ctx = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = ctx.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # a confirm() before a destructive action
    page.goto(f"{base}/login")
    page.fill("input[name=username]", role)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] [type=submit]")
    page.wait_for_load_state()
    return ctx, page


@pytest.mark.parametrize("role", ["admin", "hr_admin"])
def test_every_page_speaks_the_language_fits_a_phone_and_passes_axe(server, browser, role):
    base, ids = server
    pages = _pages(ids)[role]
    assert len(pages) >= 5, pages
    english = _english_sentences()
    problems: list[str] = []
    for width in WIDTHS:
        ctx, page = _logged_in(browser, base, role, width)
        try:
            for url in pages:
                for lang in LANGS:
                    resp = page.goto(f"{base}{url}{'&' if '?' in url else '?'}lang={lang}")
                    where = f"{url} [{lang}, {width} px]"
                    if resp is None or resp.status >= 500:
                        problems.append(f"{where}: status {resp.status if resp else '?'}")
                        continue
                    if page.locator("head > title").count() == 0:
                        continue  # an HTML fragment a page polls (present now, export progress)
                    if page.get_attribute("html", "lang") != lang:
                        problems.append(f"{where}: <html lang> is {page.get_attribute('html', 'lang')!r}")
                    overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
                    if overflow > 1:
                        problems.append(f"{where}: {overflow} px of horizontal scrolling")
                    text = page.inner_text("body")
                    if DEVELOPER_TEXT.search(text):
                        problems.append(f"{where}: developer text on the page")
                    if lang == "de":
                        left = sorted(s for s in english if s in text)
                        if left:
                            problems.append(f"{where}: untranslated {left[:3]}")
                    if lang == "en" and width == WIDTHS[0]:
                        page.add_script_tag(path=AXE)
                        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
                        bad = [
                            f"{v['id']} ({v['impact']}, {len(v['nodes'])}×: {v['nodes'][0]['target']})"
                            for v in result["violations"]
                            if v["impact"] in ("serious", "critical")
                        ]
                        if bad:
                            problems.append(f"{where}: axe {bad}")
        finally:
            ctx.close()
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:60])


BAD_VALUES = {
    "number": "abc",
    "date": "",
    "email": "not-an-e-mail",
    "text": "   ",
    "search": "   ",
    "textarea": "   ",
    "time": "",
    "datetime-local": "",
}


@pytest.mark.parametrize("role", ["admin", "hr_admin"])
def test_bad_input_in_every_form_gives_a_page_for_people_that_keeps_what_was_typed(server, browser, role):
    """Each POST form of each page, filled with bad values (blank names, letters in numbers), is
    submitted with the browser's own checks off: the answer is HTML, never a 500 nor developer
    text, and a refusal (422) names the field and keeps the typed values."""
    base, ids = server
    problems: list[str] = []
    ctx, page = _logged_in(browser, base, role, WIDTHS[0])
    try:
        for url in _pages(ids)[role]:
            page.goto(f"{base}{url}")
            n_forms = page.locator("form[method=post], form[method=POST]").count()
            for i in range(n_forms):
                if i:
                    page.goto(f"{base}{url}")
                form = page.locator("form[method=post], form[method=POST]").nth(i)
                action = form.get_attribute("action") or url
                if action.startswith(("/logout", "/login")):
                    continue
                typed = {}
                fields = form.locator(
                    "input[name]:not([type=hidden]):not([type=checkbox]):not([type=radio])"
                    ":not([type=file]):not([type=submit]), textarea[name]"
                )
                for j in range(fields.count()):
                    field = fields.nth(j)
                    kind = field.get_attribute("type") or (
                        "textarea" if field.evaluate("e => e.tagName") == "TEXTAREA" else "text"
                    )
                    value = BAD_VALUES.get(kind, "   ")
                    field.evaluate(
                        "e => { e.removeAttribute('pattern'); e.removeAttribute('required'); "
                        "e.removeAttribute('min'); e.removeAttribute('max'); e.type = 'text'; }"
                    )
                    field.fill(value)
                    if value.strip():
                        typed[field.get_attribute("name")] = value
                form.evaluate("f => f.setAttribute('novalidate', '')")
                submit = form.locator("[type=submit], button:not([type=button])")
                if submit.count() == 0:
                    continue
                with page.expect_response(lambda r: r.request.method == "POST") as info:
                    submit.first.click()
                resp = info.value
                page.wait_for_load_state()
                where = f"{url} form {i} -> {action}"
                ctype = resp.headers.get("content-type", "")
                body = page.content()
                if resp.status >= 500:
                    problems.append(f"{where}: status {resp.status}")
                elif not ctype.startswith("text/html") and resp.status not in (301, 302, 303, 307):
                    problems.append(f"{where}: answered {ctype or 'nothing'} ({resp.status}), not a page")
                elif DEVELOPER_TEXT.search(page.inner_text("body")):
                    problems.append(f"{where}: developer text on the page")
                elif resp.status == 422:
                    if "field-error" not in body:
                        problems.append(f"{where}: 422 without a message at the field")
                    for name, value in typed.items():
                        kept = page.locator(f"[name='{name}']")
                        if kept.count() and kept.first.get_attribute("type") == "number":
                            continue  # a browser shows no letters in a number field (nobody can type them)
                        if kept.count() and kept.first.input_value() != value:
                            problems.append(f"{where}: {name!r} lost what was typed")
    finally:
        ctx.close()
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:60])
