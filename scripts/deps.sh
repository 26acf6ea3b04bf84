#!/usr/bin/env bash
# Installs what building and testing nettu needs on Debian (as root, or through sudo), and
# the pinned npm packages of the end-to-end tests. Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(build-essential cmake pkg-config clang libevent-dev libjansson-dev libssl-dev
      libsqlite3-dev libinih-dev check libical-dev libcurl4-openssl-dev tzdata sqlite3 curl
      clang-format postgresql libpq-dev)
if [ "${1:-}" = "--test" ]; then
    pkgs+=(wrk chromium python3 python3-icalendar python3-dateutil)
fi
command -v node >/dev/null 2>&1 || pkgs+=(nodejs npm)

missing=()
for p in "${pkgs[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

if [ "${1:-}" = "--test" ]; then
    for d in tests/e2e tests/browser; do
        [ -f "$d/package-lock.json" ] || continue
        (cd "$d" && npm ci --no-audit --no-fund --loglevel=error)
    done
fi
