"""The wire codec and the journal's flash records give the same results on
CPython (what the backend runs) and on the MicroPython Unix port with a
128 KB heap (what the kiosks run); and those results are round trips."""

import portable_cases
import pytest
from mp_runner import CORE_MODULES, HERE, REPO, cpython_cases, run_micropython

from firmware.build import compile_tree


@pytest.fixture(scope="module")
def cpython_results(tmp_path_factory):
    return cpython_cases(str(tmp_path_factory.mktemp("cases") / "journal"))


@pytest.fixture(scope="module")
def unix_port_results(tmp_path_factory):
    out = run_micropython(
        [str(HERE / "portable_cases.py"), str(tmp_path_factory.mktemp("cases_mp") / "journal")]
    )
    return portable_cases.parse_output(out)


def test_unix_port_decodes_encodes_and_journals_exactly_like_cpython(cpython_results, unix_port_results):
    assert len(cpython_results) > 100
    assert unix_port_results.keys() == cpython_results.keys()
    differ = {
        k: (cpython_results[k], unix_port_results[k])
        for k in cpython_results
        if cpython_results[k] != unix_port_results[k]
    }
    assert not differ, f"CPython vs MicroPython Unix port: {differ}"


def test_batches_decode_to_what_was_encoded_in_every_input_form(cpython_results):
    r = cpython_results
    indexes = [k.rsplit("_", 1)[1] for k in r if k.startswith("batch_wire_")]
    assert len(indexes) == 5
    for i in indexes:
        wire = r[f"batch_wire_{i}"]
        decoded, err = r[f"batch_decoded_{i}"]
        assert err is None
        assert decoded == {"kiosk": wire["kiosk"], "from": wire["from"], "punches": wire["punches"]}
        assert wire["v"] == 1
        for form in ("bytearray", "memoryview", "str"):
            assert r[f"batch_{form}_{i}"] == [decoded, None]
        assert r[f"batch_wrong_topic_{i}"][0] is None
        assert "does not match topic kiosk" in r[f"batch_wrong_topic_{i}"][1]


def test_every_malformed_batch_is_a_clear_error_value(cpython_results):
    bad = {k: v for k, v in cpython_results.items() if k.startswith("bad_")}
    assert len(bad) == len(portable_cases.BAD_BATCHES) + 1 + 5
    for name, (value, reason) in bad.items():
        assert value is None, name
        assert isinstance(reason, str) and len(reason) > 10, name
    assert cpython_results["batch_over_max"] == [None, "batch of 101 punches exceeds 100"]
    count, first, last, in_order, err = cpython_results["batch_max"]
    assert (count, first["seq"], last["seq"], in_order, err) == (100, 1, 100, True, None)


def test_acks_states_and_messages_round_trip(cpython_results):
    r = cpython_results
    for upto in (0, 1, 4242, 0xFFFFFFFF):
        assert r[f"ack_{upto}"] == [upto, None]
    assert r["state_True"][0]["online"] is True and r["state_False"][0]["online"] is False
    assert r["message"][0]["list"] == [1, "a", {"b": None}]
    assert r["config"][0]["config_version"] == 7
    assert r["topic_noxus/v1/K-1_x/cmd/result"] == [["K-1_x", "cmd/result"], None]


def test_flash_records_round_trip_and_reject_any_torn_or_flipped_record(cpython_results):
    records = {
        k: v for k, v in cpython_results.items() if k.startswith("record_") and k.split("_")[1].isdigit()
    }
    assert len(records) >= 15
    for name, (hex_bytes, punch, end, same) in records.items():
        seq = name.split("_")[1]
        assert same is True, f"record {seq} decoded to {punch}"
        assert end == len(hex_bytes) // 2 in (16, 19, 22)
        assert cpython_results[f"record_torn_{seq}"] is None
        assert cpython_results[f"record_flip_{seq}"] is None


def test_journal_scenario_keeps_seq_and_cursor(cpython_results):
    r = cpython_results
    assert r["journal_reboot"] == [2, 11, 6, 1, [7, 8, 9, 10]]
    assert r["journal_next"]["seq"] == 12
    assert r["journal_reboot_empty"] == [3, 12, 12, True]
    assert r["journal_state"] == {"acked": 12, "boot": 3, "seq": 12}
    assert r["journal_epoch_ok"] is True


# The claim step runs once, before the kiosk program, on a kiosk that has no credentials yet
# (firmware/core/claim.py); the running program never holds it beside the MQTT session.
RUNTIME_MODULES = [m for m in CORE_MODULES if m != "claim"]


def test_every_firmware_core_module_imports_on_the_unix_port_with_128k_heap(tmp_path):
    assert "mqtt_link" in RUNTIME_MODULES and "journal" in RUNTIME_MODULES
    # Compiled to .mpy as a board gets it (noxus-provision --mpy, or frozen): compiling the
    # sources here left the heap so fragmented that adding any small function to any module
    # failed a 944-byte allocation with 20 KB free, a cliff that says nothing about a board.
    compile_tree(REPO / "firmware" / "core", tmp_path / "firmware")
    code = (
        "import gc\n"
        f"for m in {RUNTIME_MODULES!r}:\n"
        "    __import__('firmware.core.' + m)\n"
        "gc.collect()\n"
        "print('loaded', gc.mem_alloc(), gc.mem_alloc() + gc.mem_free())\n"
    )
    out = run_micropython(["-c", code], root=tmp_path).split()
    assert out[0] == "loaded"
    alloc, heap = int(out[1]), int(out[2])
    assert heap <= 128 * 1024
    # chumicro-mqtt is most of it. Here every module's bytecode sits in the heap; on a board the
    # NoxusTime image freezes it into flash (docs/rp2040-emulation.md: the frozen program runs
    # in 35 KB). The budget keeps the source-loaded simulation (160 KB heap) room for its data.
    assert alloc < 108 * 1024, f"the firmware core alone holds {alloc} bytes of a {heap} byte heap"


def test_the_claim_step_loads_with_what_it_needs_in_a_128k_heap():
    code = (
        "import gc\n"
        "from firmware.core import claim, fsutil, tls\n"
        "gc.collect()\n"
        "print('loaded', gc.mem_alloc())\n"
    )
    out = run_micropython(["-c", code]).split()
    assert out[0] == "loaded"
    assert int(out[1]) < 96 * 1024, f"the claim step holds {out[1]} bytes"
