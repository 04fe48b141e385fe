"""Where tests and benchmarks keep what is expensive to rebuild (the MicroPython
rp2 firmware): the system cache /var/cache/noxustime/<name> when this user may
write there or it already holds a finished build, else the user's own cache,
$XDG_CACHE_HOME/noxustime/<name> (default ~/.cache/noxustime/<name>). The same
rule is written in scripts/build_rp2.sh; docs/testing.md."""

import os
import pathlib
from collections.abc import Callable

SYSTEM = pathlib.Path("/var/cache/noxustime")


def user_cache() -> pathlib.Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(pathlib.Path.home() / ".cache")
    return pathlib.Path(base) / "noxustime"


def writable(path: pathlib.Path) -> bool:
    """True when `path` is, or could be created as, a directory this user writes into."""
    p = path
    while not p.exists():
        if p.parent == p:
            return False
        p = p.parent
    return p.is_dir() and os.access(p, os.W_OK | os.X_OK)


def cache_dir(name: str, ready: Callable[[pathlib.Path], bool] | None = None) -> pathlib.Path:
    """The folder for cache `name`; `ready(folder)` tells a finished, readable build
    that a user who may not write there can still use."""
    system = SYSTEM / name
    if writable(system) or (ready is not None and ready(system)):
        return system
    return user_cache() / name


def writable_cache_dir(name: str) -> pathlib.Path:
    """The folder for files written on every run (results), never a read-only one."""
    system = SYSTEM / name
    return system if writable(system) else user_cache() / name
