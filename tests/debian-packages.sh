#!/usr/bin/env bash
# Debian's packages whose real programs the tests run (`make test` calls this first).
# As root with apt-get: installs the missing ones (one `apt-get update` first). Otherwise it says what is
# missing and goes on; the tests that need a missing program say so, and fail under CI=true.
set -euo pipefail

PACKAGES=(
    monitoring-plugins-basic  # check_tcp: tests/test_nagios_plugins.py
)

missing=()
for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian packages for the tests: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    echo "not installing Debian packages ${missing[*]} (needs root and apt-get): the tests that run them will say so"
fi
