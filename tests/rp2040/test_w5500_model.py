"""The W5500 model of the emulator runner (tests/rp2040/w5500.mjs): driven
over SPI frames as WIZnet's ioLibrary drives the chip, against real TCP
servers on the host (tests/rp2040/w5500.test.mjs, node's test runner).
docs/rp2040-emulation.md, "The wired variant"."""

import shutil
import subprocess

import pytest

from tests.rp2040.emulator import HERE


@pytest.mark.skipif(
    shutil.which("node") is None, reason="Node.js is missing (NOXUS_WITH_TEST_DEPS=1 scripts/bootstrap.sh)"
)
def test_w5500_model_bridges_its_tcp_sockets_to_host_sockets():
    proc = subprocess.run(
        ["node", "--test", str(HERE / "w5500.test.mjs")],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=HERE,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "# fail 0" in proc.stdout and "# pass 6" in proc.stdout, proc.stdout[-2000:]
