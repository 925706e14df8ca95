#!/usr/bin/env bash
# The oracle: invoice2data 1.0.1 with dateparser, pinned (requirements.txt), in a venv of its own
# under target/, so the tests compare clerk with exactly the invoice2data a user installs from pip.
# Prints the venv's python. Idempotent.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${CLERK_ORACLE_VENV:-$here/../../target/oracle-venv}"
# Tests run side by side and each calls this: one builds the venv, the others wait for it.
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
if ! "$venv/bin/python" -c 'import invoice2data, dateparser' 2>/dev/null \
   || ! cmp -s "$here/requirements.txt" "$venv/requirements.txt"; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt" >&2
  cp "$here/requirements.txt" "$venv/requirements.txt"
fi
echo "$venv/bin/python"
