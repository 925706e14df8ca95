#!/usr/bin/env bash
# The fault run (tests/faults.rs): 3 daemons on one PostgreSQL, kill -9 every few seconds, a
# PostgreSQL restart and an ERP outage. Minutes long, and it restarts the PostgreSQL cluster on
# 127.0.0.1:5432 (Debian's pg_ctlcluster, as root), so it is not part of tests/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --locked --test faults -- --ignored --nocapture "$@"
