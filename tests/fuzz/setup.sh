#!/usr/bin/env bash
# schemathesis, pinned (requirements.txt), in a venv of its own under target/, for the API fuzz
# pass (tests/api_fuzz.rs). Prints the path of its `schemathesis`. Idempotent.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
echo "$(bash "$here/../support/venv.sh" fuzz-venv "$here/requirements.txt")/bin/schemathesis"
