#!/usr/bin/env bash
# Fails when a C or C++ source in core/ plugins/ include/ tests/ examples/ bench/ is not
# formatted as .clang-format says. Lists each such file and the command that fixes it.
#
#   scripts/check-format.sh             check (exit 1 when a file needs formatting)
#   CLANG_FORMAT=clang-format-14 ...    another binary (default: clang-format)
set -euo pipefail
cd "$(dirname "$0")/.."
CF=${CLANG_FORMAT:-clang-format}
command -v "$CF" >/dev/null 2>&1 || {
    echo "check-format: $CF not found (scripts/deps.sh installs clang-format)" >&2
    exit 2
}
# tests/ownership/fixture holds deliberately shaped sources whose line numbers a test expects.
mapfile -d '' files < <(find core plugins include tests examples bench \
    -name node_modules -prune -o -path tests/ownership/fixture -prune -o -type f \( -name '*.c' -o -name '*.h' -o -name '*.cpp' \) \
    -print0 | sort -z)
[ "${#files[@]}" -gt 0 ] || { echo "check-format: no sources found" >&2; exit 2; }
# One run over every file; each finding is "<file>:<line>:<col>: error: ...".
out=$("$CF" --dry-run -Werror "${files[@]}" 2>&1 >/dev/null) || true
mapfile -t bad < <(sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error: .*/\1/p' <<<"$out" | sort -u)
if [ "${#bad[@]}" -eq 0 ] && [ -n "$out" ]; then
    echo "check-format: $CF failed: $out" >&2
    exit 2
fi
if [ "${#bad[@]}" -gt 0 ]; then
    printf 'not formatted: %s\n' "${bad[@]}" >&2
    echo "fix with: $CF -i ${bad[*]}" >&2
    exit 1
fi
echo "check-format: ${#files[@]} files formatted ($("$CF" --version | head -n 1))"
