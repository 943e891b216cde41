#!/usr/bin/env bash
# Installs the Debian packages plcline needs to build, test and run, and only those that are
# missing: with everything present it does nothing (no apt-get update, no network).
# Usage: scripts/deps.sh [--with-fuzz]   (root, or sudo available)
set -euo pipefail

# clang + libclang-rt-dev: the ASan/UBSan build of `make check` (the sanitizer runtime is only
# a "Recommends" of clang, and recommends are not installed); clang-format: its format check;
# python3: CLI tests parse JSON and hold a refusing port with it, and scripts/check-skips.py is Python; gcovr: the
# line and branch figures of `make coverage`. libmodbus-dev: test- and bench-only, the
# independent Modbus peer of the Modbus tests and benches (never linked into plcline);
# mbpoll: test-only, a second independent Modbus client of test_modbus_server.c.
# libh2o-dev (+ libssl-dev, which its headers include): the daemon's HTTP server. curl,
# chromium, chromium-driver, prometheus (for promtool): the HTTP tests, the status page in a
# headless browser, and the metrics format check.
pkgs=(cmake make gcc pkg-config libuv1-dev libcmocka-dev libjansson-dev libyaml-dev
      libmosquitto-dev mosquitto mosquitto-clients clang libclang-rt-dev clang-format valgrind
      tshark python3 libmodbus-dev mbpoll
      libh2o-dev libssl-dev curl chromium chromium-driver prometheus gcovr)
# The PCCC interop tests run nodepccc: Debian's node and npm only when the machine has no
# node/npm of its own (one from elsewhere must not be shadowed or fought with).
command -v node >/dev/null || pkgs+=(nodejs)
command -v npm >/dev/null || pkgs+=(npm)
# --with-fuzz: libFuzzer comes with clang's runtime above; kept for compatibility.

missing=()
for p in "${pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# tshark's wireshark-common asks whether non-root users may capture: answer no, unasked
echo "wireshark-common wireshark-common/install-setuid boolean false" |
    $sudo debconf-set-selections 2>/dev/null || true
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
