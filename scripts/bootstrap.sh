#!/usr/bin/env bash
# Install what NoxusTime needs on a fresh Debian machine, idempotently:
# system packages (apt), the Python virtualenv, the MicroPython library and
# the Node packages for the WebAssembly MicroPython tests.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || need_apt+=(mosquitto)
command -v mosquitto_pub >/dev/null || need_apt+=(mosquitto-clients)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
if [ "${NOXUS_WITH_TEST_DEPS:-0}" = 1 ]; then
  command -v node >/dev/null || need_apt+=(nodejs npm)
  command -v chromium >/dev/null || need_apt+=(chromium chromium-driver)
  command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
  # the MQTT TLS test makes its own CA; backups of PostgreSQL use pg_dump/pg_restore
  command -v openssl >/dev/null || need_apt+=(openssl)
  command -v pg_dump >/dev/null || need_apt+=(postgresql-client)
  # the MicroPython rp2 firmware for the emulated RP2040 (scripts/build_rp2.sh)
  command -v arm-none-eabi-gcc >/dev/null || need_apt+=(gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib)
  command -v cmake >/dev/null || need_apt+=(cmake)
  command -v make >/dev/null || need_apt+=(make)
  command -v cc >/dev/null || need_apt+=(gcc libc6-dev)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[dev]'
  touch "$stamp"
fi
.venv/bin/python -m firmware.build build/mpylib >/dev/null

# Type stubs of the Pico W's MicroPython, for the mypy check of firmware/ports/pico
# (tests/firmware/test_fw_pico_types.py); kept out of the venv's site-packages
# because they shadow CPython's standard library stubs.
if [ "${NOXUS_WITH_TEST_DEPS:-0}" = 1 ] && [ ! -f .venv/picostubs/machine.pyi ]; then
  .venv/bin/pip install -q --target .venv/picostubs micropython-rp2-rpi-pico-w-stubs==1.29.0.post1
fi

# Node packages of the tests (WebAssembly MicroPython, axe-core for the accessibility checks):
# installed again whenever package.json or its lock file changed.
if [ "${NOXUS_WITH_TEST_DEPS:-0}" = 1 ] && { [ ! -f node_modules/.package-lock.json ] \
    || [ package.json -nt node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
  npm ci --no-audit --no-fund --silent
  touch node_modules/.package-lock.json
fi

# The emulated RP2040 (tests/rp2040): rp2040js from npm, then the MicroPython
# rp2 firmware built from Debian sources and the bootrom, cached outside the repo.
if [ "${NOXUS_WITH_TEST_DEPS:-0}" = 1 ]; then
  if [ ! -f tests/rp2040/node_modules/rp2040js/package.json ]; then
    echo "installing rp2040js (npm) in tests/rp2040"
    (cd tests/rp2040 && npm ci --no-audit --no-fund --silent)
  fi
  # a failed build stops here with its log tail: a missing firmware must not show up later as skips
  ./scripts/build_rp2.sh
fi
