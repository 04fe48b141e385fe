"""pytest plugin: run tests with bench/proposed.py applied, e.g.
`pytest -p bench.proposed_plugin tests/ingest` (the proposal keeps them green)."""

from bench import proposed

proposed.apply()
