# Small file helpers that behave the same on CPython, the MicroPython Unix port
# and littlefs on a Pico (no os.path there).

import os


def join(*parts):
    return "/".join(p.rstrip("/") for p in parts if p)


def exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def makedirs(path):
    cur = "/" if path.startswith("/") else ""
    for part in path.split("/"):
        if not part:
            continue
        cur = cur + part if cur in ("", "/") else cur + "/" + part
        if not exists(cur):
            os.mkdir(cur)


def sync(f):
    """Flush a file to the medium. On littlefs flush() commits; on CPython and
    the Unix port fsync is what reaches the disk."""
    f.flush()
    fsync = getattr(os, "fsync", None)
    if fsync is not None:
        fsync(f.fileno())


def read(path, default=None):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return default


def write_atomic(path, data):
    """Write to a temporary file, sync, then rename over the target: a power cut
    leaves either the old or the new content, never a mix."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        sync(f)
    os.rename(tmp, path)


def rewrite_prefix(path, keep, tail_chunks=()):
    """Atomically replace `path` with its first `keep` bytes followed by
    `tail_chunks`, copying through a small buffer (no whole file in RAM)."""
    tmp = path + ".tmp"
    buf = bytearray(256)
    view = memoryview(buf)
    with open(path, "rb") as src, open(tmp, "wb") as dst:
        left = keep
        while left > 0:
            n = src.readinto(view[:min(left, len(buf))])
            if not n:
                break
            dst.write(view[:n])
            left -= n
        for chunk in tail_chunks:
            dst.write(chunk)
        sync(dst)
    os.rename(tmp, path)


def remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def size(path):
    try:
        return os.stat(path)[6]
    except OSError:
        return 0
