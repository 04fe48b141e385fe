# The wasm run executes tests/firmware_core/portable_cases.py; import it here
# too, for the CPython reference (pytest runs with --import-mode=importlib).
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "firmware_core"))
