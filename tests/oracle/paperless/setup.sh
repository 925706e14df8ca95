#!/usr/bin/env bash
# paperless-ngx's classifier stack (scikit-learn, pinned in requirements.txt) in a venv of its
# own under target/, for the learning benchmark (tests/benches/learning.rs). Prints its python.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
echo "$(bash "$here/../../support/venv.sh" paperless-venv "$here/requirements.txt")/bin/python"
