# Entry for the simulated Pico W: the real firmware/ports/pico code with fake
# machine/network/ntptime and a scripted reader. Exits when the scripted taps
# are done and the journal is drained (or the taps are done, offline).
#
#   cd <workdir with kiosk.json, sim.json, hardware/pinmap.json>
#   MICROPYPATH=<repo>:<repo>/tests/firmware/picosim:<repo>/tests/firmware:<mpylib> \
#       micropython -X heapsize=128K run_pico.py
import gc

import simctl

from firmware.ports.pico import main


def done(kiosk):
    if simctl.CFG.get("exit_on_link_error") and kiosk.link is not None and kiosk.link.last_error:
        return simctl.CHIP.done()  # the broker was refused (TLS tests): stop once the taps are in
    if not simctl.CHIP.done():
        return False
    if simctl.CFG.get("exit_offline"):
        return True
    return kiosk.link is not None and simctl.drained(kiosk)


gc.collect()
k = main.run("kiosk.json", done=done)
gc.collect()
simctl.report(
    k,
    polls=simctl.CHIP.polls,
    heap_free=gc.mem_free(),
    heap_alloc=gc.mem_alloc(),
    pending=k.journal.pending(),
    tls=k.link.tls if k.link is not None else None,
    link_error=k.link.last_error if k.link is not None else None,
)
k.link.stop() if k.link is not None else None
