"""The kiosk side of claim codes, end to end: a simulated kiosk on the real
MicroPython Unix port with no credentials, only a claim.json, against the real
API served over HTTPS (uvicorn with a certificate from a test CA), a Mosquitto
with the production ACL and a TLS listener, and an ingest worker. The kiosk
draws and shows its code (read from its console), polls the claim endpoint over
HTTPS pinning the test CA, gets its MQTT credentials once a technician approves
the code through the API, stores them, connects over TLS, and its tap lands as
a punch row. A wrong CA is refused with a clear console line."""

import json
import os
import re
import ssl
import subprocess
import sys
import time

import httpx
import pytest
from noxus.ingest.models import Punch
from sqlmodel import Session, select

from devstack.kiosks import REPO, SIM_MAIN, micropython_exe, mpylib
from tests.firmware.tlsca import make_ca
from tests.provisioning.conftest import BACKEND_PASSWORD, BACKEND_USER, AclMosquitto, BackendProc

pytestmark = pytest.mark.slow

# The Unix port holds the whole program's bytecode in the heap (a board runs it frozen):
# claim + HTTPS + MQTT over TLS, with headroom.
HEAP = "320K"
DEADLINE_S = 90  # safety deadline for each awaited condition (never a timing assert)
CODE_RE = re.compile(r"claim code: ([A-Z0-9]{5}-[A-Z0-9]{5}) \(board ([0-9A-F]+)\)")


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def tls_stack(tmp_path_factory, ca):
    """Mosquitto (plain listener for the backend, TLS listener for kiosks), the API over HTTPS,
    an ingest worker."""
    tmp = tmp_path_factory.mktemp("claim-stack")
    broker = AclMosquitto(tmp / "mosq")
    broker.data.mkdir(parents=True, exist_ok=True)
    from devstack.broker import free_port, wait_port

    tls_port = free_port()
    broker.extra_conf = (
        f"\nlistener {tls_port} 127.0.0.1\ncertfile {ca / 'good.crt'}\nkeyfile {ca / 'good.key'}"
        "\ntls_version tlsv1.2\n"
    )
    broker.start()
    wait_port(tls_port)
    backend = BackendProc(
        tmp,
        broker,
        ssl=(ca / "good.crt", ca / "good.key"),
        env={
            "NOXUS_KIOSK_MQTT_HOST": "localhost",
            "NOXUS_KIOSK_MQTT_PORT": str(tls_port),
            "NOXUS_KIOSK_MQTT_TLS": "true",
            "NOXUS_KIOSK_MQTT_CA_FILE": str(ca / "ca.crt"),
        },
    )
    log = open(tmp / "ingest.log", "ab")
    worker = subprocess.Popen(
        [sys.executable, "-m", "noxus.cli", "ingest"],
        env={
            **os.environ,
            "NOXUS_DATABASE_URL": backend.db_url,
            "NOXUS_MQTT_HOST": "127.0.0.1",
            "NOXUS_MQTT_PORT": str(broker.port),
            "NOXUS_MQTT_USERNAME": BACKEND_USER,
            "NOXUS_MQTT_PASSWORD": BACKEND_PASSWORD,
        },
        stdout=log,
        stderr=log,
    )
    try:
        wait_for(lambda: "subscribed to" in (tmp / "ingest.log").read_text(), "the ingest worker subscribed")
        yield backend
    finally:
        worker.terminate()
        worker.wait(10)
        backend.stop()
        broker.stop()


def trust(ca) -> ssl.SSLContext:
    """The laptop's (the technician's) view of the API: the test CA."""
    return ssl.create_default_context(cafile=str(ca / "ca.crt"))


def wait_for(predicate, what, proc=None, out=None):
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the kiosk exited ({proc.returncode}) before {what}:\n{out.read_text()}")
        time.sleep(0.1)
    raise AssertionError(
        f"timed out after {DEADLINE_S}s waiting for {what}" + (f":\n{out.read_text()}" if out else "")
    )


def start_kiosk(d, claim: dict):
    d.mkdir(parents=True, exist_ok=True)
    (d / "claim.json").write_text(json.dumps(claim))
    out = d / "console.txt"
    proc = subprocess.Popen(
        [micropython_exe(), "-X", f"heapsize={HEAP}", str(SIM_MAIN), str(d / "kiosk.json")],
        env={**os.environ, "MICROPYPATH": f".frozen:{REPO}:{mpylib()}"},
        stdout=open(out, "w"),
        stderr=subprocess.STDOUT,
    )
    return proc, out


def claim_json(backend, d, board_uid, api_ca, **more) -> dict:
    (d / "api-ca.pem").parent.mkdir(parents=True, exist_ok=True)
    (d / "api-ca.pem").write_bytes(api_ca.read_bytes())
    return {
        "v": 1,
        "api": backend.url,
        "ca_file": "api-ca.pem",
        "board_uid": board_uid,
        "poll": {"floor_ms": 100, "base_ms": 300, "max_ms": 1000},  # a test need not wait half a minute
        "config": {
            "journal_dir": str(d / "journal"),
            "sim": {
                "taps": 1,
                "uids": ["04A1B2C3"],
                "poll_ms": 5,
                "cooldown_ms": 0,
                "quiet": False,
                "exit_when_drained": True,
            },
        },
        **more,
    }


def test_kiosk_without_credentials_shows_its_code_gets_approved_connects_and_its_tap_is_a_punch(
    tls_stack, ca, tmp_path
):
    backend = tls_stack
    d = tmp_path / "kiosk"
    uid = "C0FFEE0012345678"
    proc, out = start_kiosk(d, claim_json(backend, d, uid, ca / "ca.crt"))
    try:
        wait_for(lambda: CODE_RE.search(out.read_text()), "the kiosk shows its claim code", proc, out)
        code, shown_uid = CODE_RE.search(out.read_text()).groups()
        assert shown_uid == uid
        # the code is in claim.json before anyone sees it: a reboot shows the same code
        assert json.loads((d / "claim.json").read_text())["code"] == code
        wait_for(lambda: "claim: announced" in out.read_text(), "the kiosk announced its code", proc, out)
        assert not (d / "kiosk.json").exists()

        # the technician: the kiosk waits in the list, then they approve the code shown
        with technician_api(backend, ca) as api:
            pending = api.get("/api/v1/enrollment/claims").json()
            assert [c["board_uid"] for c in pending] == [uid]
            r = api.post("/api/v1/enrollment/claims/approve", json={"code": code, "site_id": backend.site_a})
            assert r.status_code == 200, r.text

        rc = proc.wait(DEADLINE_S)
        text = out.read_text()
        assert rc == 0, text
        assert "claim: approved, kiosk nx-c0ffee0012345678: credentials stored" in text
        cfg = json.loads((d / "kiosk.json").read_text())
        assert cfg["kiosk_id"] == "nx-c0ffee0012345678"
        assert cfg["broker"]["tls"] is True and cfg["broker"]["ca_file"] == str(d / "ca.pem")
        assert (d / "ca.pem").read_text() == (ca / "ca.crt").read_text()
        assert not (d / "claim.json").exists()
        done = json.loads([ln for ln in text.splitlines() if ln.startswith("DONE ")][-1][5:])
        assert done["acked"] == done["last_seq"] == 1 and done["error"] is None

        with Session(backend.engine) as s:
            punches = s.exec(select(Punch).where(Punch.kiosk_id == "nx-c0ffee0012345678")).all()
        assert [(p.badge_uid, p.seq) for p in punches] == [("04A1B2C3", 1)]
        # delivered once: the same code can never fetch the credentials again
        again = httpx.post(
            f"{backend.url}/api/v1/enrollment/claims/redeem",
            json={"board_uid": uid, "code": code},
            verify=trust(ca),
        )
        assert again.status_code == 410
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def technician_api(backend, ca) -> httpx.Client:
    """The API as the technician's provisioning CLI calls it (their bearer token, the pinned CA)."""
    return httpx.Client(
        base_url=backend.url,
        verify=trust(ca),
        timeout=30,
        headers={"Authorization": f"Bearer {backend.token}"},
    )


def approve(backend, ca, code):
    with technician_api(backend, ca) as api:
        r = api.post("/api/v1/enrollment/claims/approve", json={"code": code, "site_id": backend.site_a})
        assert r.status_code == 200, r.text


def test_a_kiosk_that_dies_while_storing_restarts_from_its_claim_with_a_new_code_and_gets_in(
    tls_stack, ca, tmp_path
):
    """The credentials arrive but kiosk.json cannot be written (a directory stands where its
    temporary file goes: the write fails as a flash dying mid-store would): the kiosk stops with
    the old state on disk (claim.json intact, no kiosk.json). Restarted, it finds its code
    delivered already (the API delivers once), draws a new one, is approved again, connects."""
    backend = tls_stack
    d = tmp_path / "cut"
    uid = "C0DE0000CAFE0001"
    (d / "kiosk.json.tmp").mkdir(parents=True)
    proc, out = start_kiosk(d, claim_json(backend, d, uid, ca / "ca.crt", code="MNPQR-STVWX"))
    try:
        wait_for(lambda: "claim: announced" in out.read_text(), "the kiosk announced its code", proc, out)
        approve(backend, ca, "MNPQR-STVWX")
        assert proc.wait(DEADLINE_S) != 0  # died while storing
        assert not (d / "kiosk.json").exists()
        assert json.loads((d / "claim.json").read_text())["code"] == "MNPQR-STVWX"  # the old state, whole
        ca_pem = d / "ca.pem"
        assert not ca_pem.exists() or ca_pem.read_text() == (ca / "ca.crt").read_text()  # never half

        (d / "kiosk.json.tmp").rmdir()  # the power is back
        proc, out = start_kiosk(d, json.loads((d / "claim.json").read_text()))

        def codes():
            return [c for c, _ in CODE_RE.findall(out.read_text())]

        wait_for(lambda: len(codes()) >= 2, "the kiosk shows a new code", proc, out)
        assert codes()[0] == "MNPQR-STVWX"  # first the code it held, refused as used ...
        new_code = codes()[-1]
        assert new_code != "MNPQR-STVWX"  # ... then a new one
        wait_for(lambda: "claim: announced" in out.read_text(), "the new code announced", proc, out)
        approve(backend, ca, new_code)
        assert proc.wait(DEADLINE_S) == 0, out.read_text()
        cfg = json.loads((d / "kiosk.json").read_text())
        assert cfg["kiosk_id"] == "nx-c0de0000cafe0001" and not (d / "claim.json").exists()
        with Session(backend.engine) as s:
            assert s.exec(select(Punch).where(Punch.kiosk_id == "nx-c0de0000cafe0001")).all()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_a_kiosk_pinning_another_ca_refuses_the_api_and_says_so(tls_stack, ca, tmp_path):
    backend = tls_stack
    d = tmp_path / "wrong-ca"
    proc, out = start_kiosk(
        d, claim_json(backend, d, "BADCA00012345678", ca / "other.crt", code="KQPMX-3HW2Z")
    )
    try:
        wait_for(lambda: "refused" in out.read_text(), "the kiosk refuses the API", proc, out)
        text = out.read_text()
        line = [ln for ln in text.splitlines() if "refused" in ln][0]
        assert line.startswith(f"claim: {backend.url} refused: ")
        assert "check claim.json ca_file" in line
        assert "announced" not in text and not (d / "kiosk.json").exists()
    finally:
        proc.kill()
        proc.wait(10)
    # nothing reached the API: no claim for that board
    with httpx.Client(base_url=backend.url, verify=trust(ca), timeout=30) as c:
        pending = c.get(
            "/api/v1/enrollment/claims", headers={"Authorization": f"Bearer {backend.token}"}
        ).json()
    assert "BADCA00012345678" not in [p["board_uid"] for p in pending]


# --- the Pico W program (firmware/ports/pico) under its simulator ------------------------------

FW_TESTS = REPO / "tests" / "firmware"
PICO_UID = "0102030405060708"  # the simulator's machine.unique_id()
PICO_HEAP = "208K"  # as the Pico TLS tests (tests/firmware/test_fw_tls.py): 176 KiB minimum plus headroom


@pytest.fixture(scope="module")
def pico_image(tmp_path_factory):
    """The firmware compiled to .mpy as `noxus-provision install --mpy` sends it (test_fw_pico_port)."""
    sys.path.insert(0, str(FW_TESTS))
    try:
        import test_fw_pico_port
    finally:
        sys.path.remove(str(FW_TESTS))
    out = tmp_path_factory.mktemp("pico-image")
    pico = test_fw_pico_port
    pico.mpy_tree(
        [
            p
            for p in (REPO / "firmware").rglob("*.py")
            if "__pycache__" not in p.parts and p.name != "build.py"
        ],
        REPO,
        out / "lib",
    )
    pico.mpy_tree(
        [p for p in pico.PICOSIM.glob("*.py") if p.name != "run_pico.py"] + [FW_TESTS / "fake_mfrc522.py"],
        FW_TESTS,
        out / "sim",
    )
    return out


def pico_board(d, backend, api_ca, claim: dict, taps: int) -> None:
    """The simulated Pico W's flash: the pin map, the CA the claim pins, claim.json (`claim` on top
    of the API address) and the simulator's taps."""
    (d / "hardware").mkdir(parents=True)
    (d / "hardware" / "pinmap.json").write_bytes((REPO / "hardware" / "pinmap.json").read_bytes())
    (d / "api-ca.pem").write_bytes(api_ca.read_bytes())
    (d / "claim.json").write_text(json.dumps({"v": 1, "api": backend.url, "ca_file": "api-ca.pem", **claim}))
    (d / "sim.json").write_text(json.dumps({"taps": taps, "offline_taps": 0}))


def power_on_pico(d, pico_image, out) -> subprocess.Popen:
    """Boot the simulated Pico W from the compiled image; its console goes on at the end of `out`."""
    path = f".frozen:{pico_image / 'lib'}:{pico_image / 'sim' / 'picosim'}:{pico_image / 'sim'}:{mpylib()}"
    return subprocess.Popen(
        [micropython_exe(), "-X", f"heapsize={PICO_HEAP}", str(FW_TESTS / "picosim" / "run_pico.py")],
        cwd=d,
        env={**os.environ, "MICROPYPATH": path},
        stdout=open(out, "a"),
        stderr=subprocess.STDOUT,
    )


def test_a_pico_w_without_display_blinks_prints_its_code_claims_over_https_and_sends_its_tap(
    tls_stack, ca, tmp_path, pico_image
):
    """The Pico W port's boot: claim.json only; its pin map declares a display the simulator does
    not have, so the code goes to the serial console (and the LED blinks)."""
    backend = tls_stack
    d = tmp_path / "pico"
    claim = {
        "code": "PQRST-VWXYZ",  # written by noxus-provision claim prepare
        "wifi": {"ssid": "Atelier", "password": "x", "country": "CH"},
        "poll": {"floor_ms": 100, "base_ms": 300, "max_ms": 1000},
        "config": {"pinmap": "hardware/pinmap.json", "poll_ms": 0},
    }
    pico_board(d, backend, ca / "ca.crt", claim, taps=1)
    out = d / "console.txt"
    proc = power_on_pico(d, pico_image, out)
    try:
        wait_for(lambda: "claim: announced" in out.read_text(), "the Pico announced its code", proc, out)
        assert f"claim code: PQRST-VWXYZ (board {PICO_UID})" in out.read_text()
        approve(backend, ca, "pqrst vwxyz")
        # credentials stored, the board resets (the simulator's machine.reset() exits 3) ...
        assert proc.wait(DEADLINE_S) == 3, out.read_text()
        assert "claim: approved, kiosk nx-0102030405060708: credentials stored" in out.read_text()
        assert not (d / "crash.log").exists() or "Traceback" not in (d / "crash.log").read_text()
        # ... and boots as an enrolled kiosk
        proc = power_on_pico(d, pico_image, out)
        assert proc.wait(DEADLINE_S) == 0, out.read_text()
        text = out.read_text()
        done = json.loads([ln for ln in text.splitlines() if ln.startswith("DONE ")][-1][5:])
        assert done["tls"] is True and done["link_error"] is None, text
        assert done["acked"] == done["last_seq"] == 1
        cfg = json.loads((d / "kiosk.json").read_text())
        assert cfg["kiosk_id"] == f"nx-{PICO_UID.lower()}" and cfg["broker"]["ca_file"] == "ca.pem"
        assert cfg["wifi"]["ssid"] == "Atelier" and cfg["pinmap"] == "hardware/pinmap.json"
        assert not (d / "claim.json").exists()
        with Session(backend.engine) as s:
            assert s.exec(select(Punch).where(Punch.kiosk_id == f"nx-{PICO_UID.lower()}")).all()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_the_raspberry_pi_claims_with_cpythons_ssl_and_refuses_another_name(tls_stack, ca, tmp_path):
    """The same claim code on CPython (the Pi port): the HTTP client reads through makefile(),
    the pinned CA and the host name are checked by CPython's ssl."""
    from firmware.core import claim
    from firmware.core.ticks import ticks_ms

    backend = tls_stack
    d = tmp_path / "pi"
    d.mkdir()
    (d / "api-ca.pem").write_bytes((ca / "ca.crt").read_bytes())
    base = {"v": 1, "api": backend.url, "ca_file": "api-ca.pem", "code": "TVWXY-ZABCD"}
    (d / "claim.json").write_text(json.dumps({**base, "server_hostname": "noxus.elsewhere.example"}))
    lines: list[str] = []
    wrong = claim.Claimer(
        str(d / "claim.json"), str(d / "kiosk.json"), "FACE000012345678", "pi", out=lines.append
    )
    assert wrong.step(ticks_ms()) == claim.ANNOUNCE
    assert "refused" in lines[-1] and "check claim.json ca_file" in lines[-1], lines

    (d / "claim.json").write_text(json.dumps(base))
    c = claim.Claimer(
        str(d / "claim.json"), str(d / "kiosk.json"), "FACE000012345678", "pi", out=lines.append
    )
    assert c.step(ticks_ms()) == claim.POLL
    assert c.step(c.next_ms) == claim.POLL  # pending: 202
    approve(backend, ca, "TVWXY-ZABCD")
    assert c.step(c.next_ms) == claim.DONE
    cfg = json.loads((d / "kiosk.json").read_text())
    assert cfg["kiosk_id"] == "nx-face000012345678" and cfg["broker"]["port"] > 0
    assert not (d / "claim.json").exists()


def test_a_pico_w_pinning_another_ca_refuses_the_api_with_a_crash_log_line(
    tls_stack, ca, tmp_path, pico_image
):
    backend = tls_stack
    d = tmp_path / "pico-wrong-ca"
    claim = {
        "code": "HJKMN-PQRST",
        "wifi": {"ssid": "Atelier", "password": "x"},
        "config": {"pinmap": "hardware/pinmap.json"},
    }
    pico_board(d, backend, ca / "other.crt", claim, taps=0)
    out = d / "console.txt"
    proc = power_on_pico(d, pico_image, out)
    try:
        wait_for(lambda: "refused" in out.read_text(), "the Pico refuses the API", proc, out)
    finally:
        proc.kill()
        proc.wait(10)
    log = (d / "crash.log").read_text()
    assert f"claim: {backend.url} refused: The certificate is not correctly signed by the trusted CA" in log
    assert "check claim.json ca_file" in log and not (d / "kiosk.json").exists()
