"""`install`: bring a board's files to a wanted set, writing only what differs.

Resumable by construction: each file lands under a .part name and is renamed
when complete, the diff is recomputed from the board's own hashes on every
run, and the manifest is written last. An interrupted install rerun writes
only the files still missing or different."""

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from noxus_provision.board import Board
from noxus_provision.errors import ProvisionError
from noxus_provision.fileset import MANIFEST, BoardFile

FREE_MARGIN = 64 * 1024  # keep room for the journal's first segments and kiosk.json


@dataclass
class InstallReport:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def _free_bytes(board: Board) -> int:
    return board.eval("(lambda s: s[0] * s[3])(os.statvfs('.'))")


def _previous_manifest(board: Board) -> dict:
    raw = board.read_file(MANIFEST)
    try:
        return json.loads(raw) if raw else {}
    except ValueError:
        return {}


def install(
    board: Board,
    files: list[BoardFile],
    on_file: Callable[[str, int, int], None] | None = None,
    on_bytes: Callable[[int, int], None] | None = None,
) -> InstallReport:
    """on_file(path, index, count) before each write; on_bytes(done, total) during it."""
    report = InstallReport()
    wanted = {f.path: f for f in files}
    on_board = board.hashes(list(wanted))
    todo = [f for f in files if on_board.get(f.path) != f.sha256]
    report.unchanged = [f.path for f in files if on_board.get(f.path) == f.sha256]

    need = sum(len(f.data) for f in todo)
    if todo and board.platform() != "linux":
        free = _free_bytes(board)
        if need + FREE_MARGIN > free:
            raise ProvisionError(
                f"the board has {free // 1024} KiB free, the firmware needs {need // 1024} KiB more: "
                "rerun with --mpy (smaller files) or wipe the board with `noxus-provision install --wipe`."
            )

    for i, f in enumerate(todo):
        if on_file:
            on_file(f.path, i, len(todo))
        board.write_file(f.path, f.data, progress=on_bytes)
        report.written.append(f.path)

    # .py and .mpy of one module must not both stay: the .py would shadow the new .mpy
    previous = _previous_manifest(board).get("files", {})
    stale = [p for p in previous if p not in wanted]
    for p in stale:
        board.remove(p)
    report.removed = stale

    verify(board, files)
    manifest = {"files": {f.path: f.sha256 for f in files}}
    board.write_file(MANIFEST, json.dumps(manifest, sort_keys=True).encode())
    return report


def verify(board: Board, files: list[BoardFile]) -> None:
    got = board.hashes([f.path for f in files])
    bad = [f.path for f in files if got.get(f.path) != f.sha256]
    if bad:
        raise ProvisionError(
            f"{len(bad)} file(s) differ on the board after writing ({', '.join(bad[:3])}...): the flash may "
            "be full or failing. Rerun `noxus-provision install`; if it fails again, replace the board."
        )
