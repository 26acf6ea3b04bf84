#!/usr/bin/env bash
# Quick start: installs the dependencies, builds, and runs the server on etc/nettu.ini
# (http://127.0.0.1:5000/api/v1/). Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"
exec ./build/nettu-server -c etc/nettu.ini "$@"
