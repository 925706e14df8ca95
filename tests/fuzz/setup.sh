#!/usr/bin/env bash
# schemathesis, pinned (requirements.txt), in a venv of its own under target/, for the API fuzz
# pass (tests/api_fuzz.rs). Prints the path of its `schemathesis`. Idempotent.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${CLERK_FUZZ_VENV:-$here/../../target/fuzz-venv}"
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
if ! [ -x "$venv/bin/schemathesis" ] || ! cmp -s "$here/requirements.txt" "$venv/requirements.txt"; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt" >&2
  cp "$here/requirements.txt" "$venv/requirements.txt"
fi
echo "$venv/bin/schemathesis"
