# Firmware integrity at boot: the kiosk hashes its own installed files instead of
# repeating what provisioning wrote. noxus_manifest.json (written last by
# `noxus-provision install`) names every installed file and its SHA-256; the
# kiosk re-hashes each file on flash and folds them into the tree hash the same
# way provisioning does (fileset.tree_hash: sha256 over "<path> <sha256 hex>\n"
# lines sorted by path, firmware.sha itself left out). The computed hash is the
# birth's fw_hash; the fleet compares it with the release's (firmware_target_hash)
# and flags a mismatch. Files that differ from the manifest are a crash-log line.
# Why no signature check on the device: docs/security.md, "Firmware integrity".

import hashlib
import json

from firmware.core import fsutil

MANIFEST = "noxus_manifest.json"
TREE_HASH = "firmware.sha"  # provisioning's claim, not hashed into the tree
CHUNK = 512  # bytes read at a time: constant heap whatever the file size


def _hex(digest):
    return "".join(f"{b:02x}" for b in digest)


def file_sha256(path, buf):
    h = hashlib.sha256()
    view = memoryview(buf)
    with open(path, "rb") as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(view[:n])
    return _hex(h.digest())


def check(root=""):
    """-> (tree hash computed from the files on flash, [paths that differ from the
    manifest or are missing]) or (None, []) when there is no manifest."""
    raw = fsutil.read(fsutil.join(root, MANIFEST) if root else MANIFEST)
    if not raw:
        return None, []
    files = json.loads(raw).get("files", {})
    raw = None
    tree = hashlib.sha256()
    bad = []
    buf = bytearray(CHUNK)
    for path in sorted(files):
        if path == TREE_HASH:
            continue
        try:
            got = file_sha256(fsutil.join(root, path) if root else path, buf)
        except OSError:
            got = "missing"
        if got != files[path]:
            bad.append(path)
        tree.update(f"{path} {got}\n".encode())
    return _hex(tree.digest()), bad
