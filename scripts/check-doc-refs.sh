#!/usr/bin/env bash
# Fails when a tracked file cites a document that is not in the repository: the project's
# docs are docs/*.md, the READMEs and the OpenAPI document, and nothing may point a reader
# at an outside spec (the API, ARCHITECTURE and STYLE .md files of a shared folder beside the
# checkout, or that folder). Lists each
# line found. node_modules and lockfiles are not checked.
#
#   scripts/check-doc-refs.sh     check (exit 1 when a file cites an outside document)
set -euo pipefail
cd "$(dirname "$0")/.."
# The patterns are written so that this file does not match them itself.
pattern='(API|ARCHITECTURE|STYLE)[.]md|[.][.]/shared|/work/share[d]'
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    mapfile -d '' files < <(git ls-files -z --cached --others --exclude-standard)
else
    mapfile -d '' files < <(find . -name node_modules -prune -o -name build -prune -o -name .git \
        -prune -o -type f -print0)
fi
keep=()
for f in "${files[@]}"; do
    case "$f" in
    */node_modules/* | node_modules/* | *package-lock.json | *yarn.lock | *pnpm-lock.yaml) ;;
    *) [ -f "$f" ] && keep+=("$f") ;;
    esac
done
[ "${#keep[@]}" -gt 0 ] || { echo "check-doc-refs: no files found" >&2; exit 2; }
if found=$(printf '%s\0' "${keep[@]}" | xargs -0 grep -InE "$pattern" --); then
    printf '%s\n' "$found" >&2
    echo "check-doc-refs: the lines above cite a document outside the repository; state the" \
        "rule in place or link docs/api.md, a README section or the OpenAPI document" >&2
    exit 1
fi
echo "check-doc-refs: ${#keep[@]} files, no outside document cited"
