#!/usr/bin/env bash
# The oracle: invoice2data 1.0.1 with dateparser, pinned (requirements.txt), in a venv of its own
# under target/, so the tests compare clerk with exactly the invoice2data a user installs from pip.
# Prints the venv's python. Idempotent.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
echo "$(bash "$here/../support/venv.sh" oracle-venv "$here/requirements.txt")/bin/python"
