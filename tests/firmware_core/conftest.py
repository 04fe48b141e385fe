# The portable check scripts here are plain modules, imported by the tests
# (pytest runs with --import-mode=importlib, which does not add this folder).
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
