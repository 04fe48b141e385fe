"""The results table in docs/benchmarks.md, between two markers; the rest of
the file (method, what limits it) is written by hand and kept."""

import pathlib
import re
from dataclasses import dataclass


@dataclass
class Row:
    database: str
    workload: str
    punches: int
    messages: int
    a_s: float  # (a) raw MQTT, seconds for all messages
    b_s: float  # (b) raw INSERT, seconds for all rows
    c_s: float  # (c) durable ingest, seconds until the last app ack
    b2_s: float | None = None  # (b') raw INSERT split on the server (PostgreSQL only)

    @property
    def a_msg_rate(self) -> float:
        return self.messages / self.a_s

    @property
    def a_rate(self) -> float:
        return self.punches / self.a_s

    @property
    def b_rate(self) -> float:
        return self.punches / self.b_s

    @property
    def c_rate(self) -> float:
        return self.punches / self.c_s

    @property
    def c_msg_rate(self) -> float:
        return self.messages / self.c_s

    @property
    def c_over_a(self) -> float:
        return self.c_rate / self.a_rate

    @property
    def c_over_b(self) -> float:
        return self.c_rate / self.b_rate

    @property
    def b2_rate(self) -> float | None:
        return None if self.b2_s is None else self.punches / self.b2_s


def median(rows: list[Row]) -> Row:
    """Median of each timing over rounds of the same (database, workload)."""
    from statistics import median as med

    first = rows[0]
    return Row(
        first.database,
        first.workload,
        first.punches,
        first.messages,
        med(r.a_s for r in rows),
        med(r.b_s for r in rows),
        med(r.c_s for r in rows),
        None if first.b2_s is None else med(r.b2_s for r in rows if r.b2_s is not None),
    )


def _n(x: float) -> str:
    return f"{x:,.0f}".replace(",", " ")


def _pct(x: float, target: float) -> str:
    return f"{x:.0%} {'✅' if x >= target else '❌'}"


def table(rows: list[Row], context: list[str]) -> str:
    head = (
        "| database | workload | N punches (messages) | (a) raw MQTT punches/s (msg/s) "
        "| (b) raw INSERT rows/s | (c) durable ingest punches/s (msg/s) | c/a (≥ 50 %) | c/b (≥ 25 %) "
        "| (b′) raw INSERT split on the server rows/s | c/b′ |"
    )
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        b2 = r.b2_rate
        line = (
            f"| {r.database} | {r.workload} | {_n(r.punches)} ({_n(r.messages)}) "
            f"| {_n(r.a_rate)} ({_n(r.a_msg_rate)}) | {_n(r.b_rate)} "
            f"| {_n(r.c_rate)} ({_n(r.c_msg_rate)}) | {_pct(r.c_over_a, 0.5)} "
            f"| {_pct(r.c_over_b, 0.25)} "
            f"| {'—' if b2 is None else _n(b2)} | {'—' if b2 is None else f'{r.c_rate / b2:.0%}'} |"
        )
        lines.append(line)
    return "\n".join(context + ["", *lines])


def write_block(path: pathlib.Path, block: str, body: str, heading: str = "") -> None:
    """Replace what is between <!-- bench:<block> --> and <!-- /bench:<block> --> in
    `path`, the rest (written by hand) kept; a missing block is appended, under
    `heading` when given."""
    start, end = f"<!-- bench:{block} -->", f"<!-- /bench:{block} -->"
    new = f"{start}\n{body}\n{end}"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if start in text:
        text = re.sub(re.escape(start) + r".*?" + re.escape(end), lambda _: new, text, flags=re.DOTALL)
    else:
        text = text.rstrip("\n") + "\n\n" + (f"## {heading}\n\n" if heading else "") + new + "\n"
    path.write_text(text)


def write(path: pathlib.Path, rows: list[Row], context: list[str]) -> None:
    write_block(path, "results", table(rows, context))
