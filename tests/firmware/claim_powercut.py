# Power cut while a kiosk stores the credentials it claimed (firmware/core/claim.py),
# at every flash program or erase, on a real littlefs (os.VfsLfs2 over the RAM
# flash of lfs_powercut.py). After remounting, the kiosk has either its old state
# (claim.json as it was, no kiosk.json: it claims again) or the new one (kiosk.json
# and ca.pem complete): never a half file.
#
#   micropython claim_powercut.py [clean|torn]
#
# One line per N: "OK <n> old|new" or "FAIL <n> <reason>", then "END <runs> <writes>".

import json
import sys

import lfs_powercut as L
from cases_claim import ENROLLED, UID

from firmware.core import claim as C

CLAIM = {
    "v": 1,
    "api": "http://127.0.0.1:8000",
    "tls": False,
    "board_uid": UID,
    "code": "K7QPM-3XH2W",
    "wifi": {"ssid": "Atelier", "password": "pw"},
}


def ok_answer(host, port, path, body, ctx):
    return 200, None, ENROLLED


def setup():
    dev = L.Flash()
    L.mount(dev, mkfs=True)
    with open("/flash/claim.json", "w") as f:
        f.write(json.dumps(CLAIM))
    return dev


def run(cut, torn):
    dev = setup()
    c = C.Claimer("/flash/claim.json", "/flash/kiosk.json", out=lambda s: None, post=ok_answer)
    c.state = C.POLL
    base = dev.ops
    dev.cut = base + cut if cut else 0
    dev.torn = torn
    try:
        c.step(0)
    except OSError:
        pass
    hit = dev.dead  # fsutil.remove swallows the error of a cut during claim.json's removal
    writes = dev.ops - base  # the store's own writes (unmounting may flush more)
    L.umount()
    return dev, writes, hit


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def check(data):
    dev = L.Flash(data)
    try:
        L.mount(dev)
    except OSError as e:
        return "filesystem does not mount: %r" % (e,)
    try:
        kiosk, claim, ca = read("/flash/kiosk.json"), read("/flash/claim.json"), read("/flash/ca.pem")
        if ca is not None and ca != ENROLLED["mqtt"]["ca_pem"]:
            return "half ca.pem: %r" % ca[:40]
        if kiosk is None:
            if claim is None or json.loads(claim) != CLAIM:
                return "no kiosk.json and claim.json is %r" % (claim,)
            return "old"
        try:
            cfg = json.loads(kiosk)
        except ValueError:
            return "half kiosk.json: %r" % kiosk[:40]
        if cfg["broker"]["password"] != "s3cret" or cfg["kiosk_id"] != ENROLLED["kiosk_id"]:
            return "wrong kiosk.json %r" % kiosk[:60]
        if ca is None:
            return "kiosk.json without its ca.pem"
        return "new"
    finally:
        L.umount()


def main():
    torn = len(sys.argv) > 1 and sys.argv[1] == "torn"
    dev, total, _ = run(0, torn)
    if check(dev.data) != "new":
        print("FAIL 0 an uncut store does not give the new state")
    runs = 0
    for n in range(1, total + 1):
        dev, _, hit = run(n, torn)
        runs += 1
        got = check(dev.data)
        if not hit:
            print("FAIL %d the cut was never reached" % n)
        elif got in ("old", "new"):
            print("OK %d %s" % (n, got))
        else:
            print("FAIL %d %s" % (n, got))
    print("END %d %d" % (runs, total))


if __name__ == "__main__":
    main()
