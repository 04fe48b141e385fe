"""One ingest group of a storm's shape on PostgreSQL: what births cost the worker.

K kiosks × 10 punches in one `ingest()` + COMMIT, with 0, 1 or 3 state messages per
kiosk (3: birth, will, birth — a kiosk reconnecting under load); best of R rounds per
shape and the statements sent. Figures in docs/benchmarks.md (reconnect storm, issue 21).

    python -m bench.ingest_group [--kiosks 200] [--rounds 5] [--profile 1]
"""

import argparse
import cProfile
import pstats
import time

import noxus.migrations.registry  # noqa: F401  (every table: cross-context foreign keys resolve)
from noxus.core.db import make_engine
from noxus.ingest.service import Incoming, ingest
from sqlalchemy import event
from sqlmodel import Session

from bench.databases import pg_available, postgres_db, register_kiosks
from firmware.core import protocol

T0_MS = 1_764_547_200_000


def states(kiosk_id: str, n: int) -> list[Incoming]:
    topic = protocol.topic(kiosk_id, protocol.STATE)
    birth = protocol.encode_state(kiosk_id, True, boot=1, fw="loadgen")
    will = protocol.encode_state(kiosk_id, False)
    return [Incoming(topic, birth if i % 2 == 0 else will) for i in range(n)]


def group(ids: list[str], round_: int, births: int) -> list[Incoming]:
    out = []
    for kiosk_id in ids:
        out += states(kiosk_id, births)
        punches = [protocol.Punch(round_ * 10 + j + 1, "04A1B2C3", T0_MS + j) for j in range(10)]
        out.append(
            Incoming(
                protocol.topic(kiosk_id, protocol.PUNCH),
                protocol.encode_punch_batch(kiosk_id, punches, epoch=1),
            )
        )
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kiosks", type=int, default=200)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--profile", type=int, default=None, help="cProfile one group with this many states/kiosk")
    args = p.parse_args()
    why = pg_available()
    if why:
        raise SystemExit(f"PostgreSQL is needed ({why})")
    ids = [f"k{i:05d}" for i in range(args.kiosks)]
    with postgres_db() as url:
        engine = make_engine(url)
        register_kiosks(engine, ids)
        sent: list[str] = []
        event.listen(engine, "before_cursor_execute", lambda _c, _cur, stmt, *_: sent.append(stmt))
        round_ = 0
        for births in (0, 1, 3):
            best = float("inf")
            for _ in range(args.rounds):
                round_ += 1
                messages = group(ids, round_, births)
                sent.clear()
                started = time.perf_counter()
                with Session(engine) as session:
                    ingest(session, messages)
                    session.commit()
                best = min(best, time.perf_counter() - started)
            print(
                f"{births} state message(s) per kiosk: {len(messages)} messages, "
                f"best {best * 1000:.0f} ms, {len(sent)} statements"
            )
        if args.profile is not None:
            messages = group(ids, round_ + 1, args.profile)
            prof = cProfile.Profile()
            with Session(engine) as session:
                prof.enable()
                ingest(session, messages)
                session.commit()
                prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(r"noxus|protocol", 25)
        engine.dispose()


if __name__ == "__main__":
    main()
