#!/usr/bin/env bash
# Sets up a Debian machine, builds clerk, and runs it on the bundled samples:
#   bash samples/demo.sh
# The samples are copied into ./inbox, `clerk serve` takes and classifies them, and the result is
# printed: recognised documents with their fields, and the exception queue with its reasons.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup-debian.sh
cargo build --release --locked
clerk=target/release/clerk
mkdir -p inbox
$clerk check
$clerk serve >var-serve.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
sleep 1
count=0
for f in samples/*.* samples/broken/*; do
  case "$f" in *.sh) continue ;; esac
  cp "$f" inbox/; count=$((count + 1))
done
echo "dropped $count sample files into ./inbox; waiting for clerk…"
for _ in $(seq 1 120); do
  settled=$($clerk documents list --json 2>/dev/null | grep -c '"status": "\(recognised\|exception\|duplicate\)"' || true)
  [ "$settled" -ge "$count" ] && break
  sleep 0.5
done
echo; echo "== documents =="; $clerk documents list
echo; echo "== exception queue =="; $clerk exceptions list
echo; echo "(the daemon's log is in var-serve.log; the store in ./var)"
