#!/usr/bin/env bash
# Sets up a Debian machine and runs the whole test suite: `bash tests/run.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup-debian.sh
cargo test --locked "$@"
