"""Style is part of done: `ruff check` with the rule set of pyproject.toml ([tool.ruff.lint]) is
clean over the whole tree, so CI enforces it."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
TREES = ["firmware", "backend", "provisioning", "tests", "bench", "devstack", "scripts"]


def _ruff(*args: str) -> subprocess.CompletedProcess:
    ruff = pathlib.Path(sys.executable).parent / "ruff"
    return subprocess.run([str(ruff), *args, *TREES], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_check_is_clean():
    r = _ruff("check", "--output-format", "concise")
    assert r.returncode == 0, (
        f"ruff check found problems (run `make lint`):\n{r.stdout[-4000:]}{r.stderr[-2000:]}"
    )


def test_ruff_format_is_clean():
    # firmware/ is excluded in [tool.ruff.format] (shared with MicroPython, hand-tuned for heap)
    r = _ruff("format", "--check")
    assert r.returncode == 0, (
        f"ruff format would change files (run `ruff format`):\n{r.stdout[-4000:]}{r.stderr[-2000:]}"
    )
