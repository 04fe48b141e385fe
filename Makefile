# NoxusTime — two commands: `make run` and `make test`.
PY := .venv/bin/python

.PHONY: run test bench bench-all venv test-deps lint i18n clean

venv:
	@./scripts/bootstrap.sh

test-deps:
	@NOXUS_WITH_TEST_DEPS=1 ./scripts/bootstrap.sh

## Start broker, backend (http://127.0.0.1:8000) and three simulated MicroPython kiosks.
run: venv
	$(PY) -m devstack.demo

## The whole test suite.
test: test-deps
	$(PY) -m pytest -q -rs

## Benchmarks: durable ingest vs raw broker and database, and the kiosk
## firmware on the MicroPython Unix port (docs/benchmarks*.md).
bench: test-deps
	$(PY) -m bench
	$(PY) -m bench.firmware_bench --quick

## Every benchmark: also HR exports, the billing run and the emulated Pico.
bench-all: bench
	$(PY) -m bench.hr_export
	$(PY) -m bench.billing_run
	$(PY) -m bench.rp2040
	$(PY) -m bench.reconnect_storm
	nice $(PY) -m bench.cluster_storm

## Extract translatable strings into the fr/de/it/en catalogs (docs/i18n.md).
i18n: venv
	./scripts/i18n.sh

lint: venv
	.venv/bin/ruff check firmware backend provisioning tests bench devstack scripts
	.venv/bin/ruff format --check firmware backend provisioning tests bench devstack scripts

clean:
	rm -rf var build .pytest_cache
