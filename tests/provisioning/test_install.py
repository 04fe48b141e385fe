"""`install` against a real MicroPython raw REPL on a pty."""

import pytest
from noxus_provision.board import Board
from noxus_provision.errors import BoardGone, ProvisionError
from noxus_provision.fileset import MANIFEST, firmware_files, tree_hash
from noxus_provision.install import install


@pytest.fixture(scope="module")
def sim_files():
    return firmware_files("sim")


def test_install_writes_every_file_then_a_rerun_writes_none(simboard, sim_files):
    with Board(simboard.device) as b:
        first = install(b, sim_files)
    assert sorted(first.written) == sorted(f.path for f in sim_files)
    for f in sim_files:
        assert (simboard.root / f.path).read_bytes() == f.data
    assert (simboard.root / MANIFEST).exists()
    # the tree hash the Pico port reports as fw_hash in its birth
    assert (simboard.root / "firmware.sha").read_text().strip() == tree_hash(sim_files[:-1])
    with Board(simboard.device) as b:
        again = install(b, sim_files)
    assert again.written == [] and len(again.unchanged) == len(sim_files)


def test_install_rewrites_only_the_file_that_changed_on_the_board(simboard, sim_files):
    with Board(simboard.device) as b:
        install(b, sim_files)
    (simboard.root / "firmware/core/journal.py").write_text("# damaged\n")
    with Board(simboard.device) as b:
        report = install(b, sim_files)
    assert report.written == ["firmware/core/journal.py"]


def test_cable_pulled_mid_file_then_rerun_completes_without_recopying(simboard, sim_files):
    files_started = []

    def count(path, index, count):
        files_started.append(path)

    def pull_cable_mid_file(done, total):
        if len(files_started) > 5 and done < total:  # a file of several chunks, half sent
            simboard.unplug()

    with pytest.raises(BoardGone, match="rerun the same command"), Board(simboard.device) as b:
        install(b, sim_files, on_file=count, on_bytes=pull_cable_mid_file)
    cut = files_started[-1]
    assert not (simboard.root / cut).exists() and (simboard.root / (cut + ".part")).exists()
    # nothing half-written sits under a real name
    done = [f for f in sim_files if (simboard.root / f.path).exists()]
    assert all((simboard.root / f.path).read_bytes() == f.data for f in done)
    assert 0 < len(done) < len(sim_files)

    simboard.plug()
    with Board(simboard.device) as b:
        report = install(b, sim_files)
    assert len(report.written) == len(sim_files) - len(done) and cut in report.written
    assert not list(simboard.root.rglob("*.part"))


def test_mpy_install_replaces_the_py_modules_it_compiles(simboard, sim_files):
    with Board(simboard.device) as b:
        install(b, sim_files)
        report = install(b, firmware_files("sim", mpy=True))
    assert "firmware/core/journal.py" in report.removed
    assert (simboard.root / "firmware/core/journal.mpy").exists()
    assert not (simboard.root / "firmware/core/journal.py").exists()


def test_a_port_where_nothing_answers_is_named_as_not_micropython(tmp_path):
    import os
    import pty

    master, slave = pty.openpty()
    try:
        with (
            pytest.raises(ProvisionError, match="does not answer like MicroPython"),
            Board(os.ttyname(slave), timeout=1),
        ):
            pass
    finally:
        os.close(master)
        os.close(slave)


def test_claim_prepare_writes_one_code_and_keeps_it_on_a_rerun(simboard):
    import json

    from noxus_provision import claim

    with Board(simboard.device) as b:
        ca = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
        code = claim.prepare(b, "https://noxus.example/", "Atelier", "wifi-secret", "sim", ca)
        again = claim.prepare(b, "https://noxus.example/", "Atelier", "wifi-secret", "sim", ca)
    saved = json.loads((simboard.root / "claim.json").read_text())
    assert code == again == saved["code"] and saved["api"] == "https://noxus.example"
    assert saved["ca_file"] == "api-ca.pem" and (simboard.root / "api-ca.pem").read_bytes() == ca
    assert len(code.replace("-", "")) == claim.CODE_LEN and set(code) <= set(claim.ALPHABET + "-")


def test_claim_prepare_for_a_plain_http_demo_api_says_so_and_needs_no_ca(make_board):
    import json

    from noxus_provision import claim

    board = make_board("demo", "D0D0D0D0D0D0D0D0")
    with Board(board.device) as b:
        claim.prepare(b, "http://127.0.0.1:8000", None, None, "sim")
    saved = json.loads((board.root / "claim.json").read_text())
    assert saved["tls"] is False and "ca_file" not in saved
    assert saved["config"] == {"sim": {"taps": 0, "quiet": True}}


def test_the_simulated_reader_is_installed_on_simulated_boards_only():
    pico = {f.path for f in firmware_files("pico")}
    assert "firmware/core/sim_reader.py" not in pico and "firmware/ports/pico/main.py" in pico
    assert not any("sim" in p.split("/") for p in pico)  # nor the sim port
    assert "firmware/core/sim_reader.py" in {f.path for f in firmware_files("sim")}


def test_built_image_as_uf2_round_trips_for_noxus_provision_flash(tmp_path):
    from noxus_provision.flash import bin_to_uf2, check_uf2, uf2_to_bin

    image = bytes(range(256)) * 40 + b"\x01\x02\x03"  # not a whole number of 256-byte payloads
    uf2 = tmp_path / "firmware.uf2"
    uf2.write_bytes(bin_to_uf2(image))
    assert check_uf2(uf2) == "RP2040"
    assert uf2_to_bin(uf2.read_bytes())[: len(image)] == image
