"""Firmware integrity at boot: the kiosk re-hashes the files `noxus-provision install`
put on it (the board file set, as on a real board) on the MicroPython Unix port and on
CPython, gets provisioning's tree hash when nothing changed and names a tampered or
missing file."""

import json

import pytest
from mphelp import REPO, run_micropython
from noxus_provision.fileset import MANIFEST, firmware_files, tree_hash

from firmware.core.fleet import integrity


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    """A board's filesystem after install: every file, then the manifest."""
    root = tmp_path_factory.mktemp("board")
    files = firmware_files("pico")
    for f in files:
        (root / f.path).parent.mkdir(parents=True, exist_ok=True)
        (root / f.path).write_bytes(f.data)
    (root / MANIFEST).write_text(json.dumps({"files": {f.path: f.sha256 for f in files}}, sort_keys=True))
    return root, tree_hash([f for f in files if f.path != "firmware.sha"])


def _on_micropython(root):
    code = (
        "import json\nfrom firmware.core.fleet import integrity\n"
        f"print('R', json.dumps(integrity.check({str(root)!r})))"
    )
    out = run_micropython(["-c", code], heap="256K", cwd=REPO)
    lines = [line for line in out.stdout.splitlines() if line.startswith("R ")]
    assert lines, out.stdout + out.stderr
    return tuple(json.loads(lines[0][2:]))


def test_an_untouched_install_hashes_to_provisioning_tree_hash(board):
    root, expected = board
    assert integrity.check(str(root)) == (expected, [])
    assert _on_micropython(root) == (expected, [])
    assert (root / "firmware.sha").read_text().strip() == expected  # what provisioning claimed


def test_a_tampered_or_missing_file_is_named_and_changes_the_hash(board, tmp_path):
    import shutil

    root, expected = board
    copy = tmp_path / "board"
    shutil.copytree(root, copy)
    (copy / "firmware/core/sender.py").write_bytes((copy / "firmware/core/sender.py").read_bytes() + b"\n# x")
    (copy / "lib").joinpath(next(p.name for p in (copy / "lib").iterdir() if p.is_dir())).rename(
        copy / "gone"
    )
    got, bad = integrity.check(str(copy))
    assert got != expected and "firmware/core/sender.py" in bad and any(p.startswith("lib/") for p in bad)
    assert _on_micropython(copy) == (got, bad)
