"""The firmware core on the MicroPython WebAssembly port (npm package
@micropython/micropython-webassembly-pyscript, Node >= 20): every module
imports within a 128 KB heap, and the codec and journal give the same
results as on CPython. Driven by tests/wasm/run_cases.mjs."""

import json
import pathlib
import shutil
import subprocess

import portable_cases
import pytest
from mp_runner import CORE_MODULES, cpython_cases

from devstack.kiosks import mpylib

REPO = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = REPO / "node_modules" / "@micropython" / "micropython-webassembly-pyscript"
HEAP = 128 * 1024


def node() -> str:
    exe = shutil.which("node")
    assert exe, "node is not installed: apt-get install nodejs (Node >= 18), then `npm install`"
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    # Tested with Node 20; the emscripten build itself checks for >= 16, and Debian 12's
    # nodejs is 18.
    assert int(version.lstrip("v").split(".")[0]) >= 18, f"Node >= 18 needed, found {version}"
    assert (PACKAGE / "micropython.mjs").exists(), f"{PACKAGE} is missing: run `npm install` in {REPO}"
    return exe


@pytest.fixture(scope="module")
def wasm_run():
    mpylib()  # chumicro-mqtt as .mpy, loaded by the port like on a Pico
    proc = subprocess.run(
        [node(), str(REPO / "tests" / "wasm" / "run_cases.mjs"), str(REPO), str(HEAP)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert lines and lines[-1].startswith("RESULT\t"), proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(lines[-1].split("\t", 1)[1])
    assert result["error"] is None, result["error"] + "\n" + "\n".join(lines[-20:])
    return result, portable_cases.parse_output("\n".join(lines[:-1]))


@pytest.fixture(scope="module")
def cpython_results(tmp_path_factory):
    return cpython_cases(str(tmp_path_factory.mktemp("cases") / "journal"))


def test_every_firmware_core_module_imports_on_the_wasm_port(wasm_run):
    result, _ = wasm_run
    assert sorted(result["imports"]) == CORE_MODULES
    failed = {m: why for m, why in result["imports"].items() if why != "ok"}
    assert not failed, f"modules that do not import on the WebAssembly port: {failed}"


def test_cases_and_imports_fit_in_a_128k_heap_without_growing_it(wasm_run):
    # This port adds heap areas on demand; the total staying at its initial
    # size means every allocation was served from the 128 KB heap.
    result, _ = wasm_run
    assert result["heap_before"] <= HEAP
    assert result["heap_after_cases"] == result["heap_before"], result
    assert result["heap_after"] == result["heap_before"], result


def test_wasm_port_decodes_encodes_and_journals_exactly_like_cpython(wasm_run, cpython_results):
    _, wasm = wasm_run
    assert len(cpython_results) > 100
    assert wasm.keys() == cpython_results.keys()
    differ = {k: (cpython_results[k], wasm[k]) for k in cpython_results if cpython_results[k] != wasm[k]}
    assert not differ, f"CPython vs MicroPython WebAssembly port: {differ}"
