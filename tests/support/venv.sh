#!/usr/bin/env bash
# A pinned Python tool in a venv of its own under target/: `venv.sh NAME REQUIREMENTS` builds
# target/NAME from the requirements file (again when the file changes) and prints the venv's
# path. Tests run side by side and each may call this: one builds, the others wait for it.
set -euo pipefail
name="$1"
requirements="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="${CLERK_VENV_DIR:-$root/target}/$name"
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
if ! [ -x "$venv/bin/python" ] || ! cmp -s "$requirements" "$venv/requirements.txt"; then
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements" >&2
  cp "$requirements" "$venv/requirements.txt"
fi
echo "$venv"
