#!/usr/bin/env bash
# Sets up a Debian machine, builds clerk, and runs it on the bundled samples beside the bundled
# legacy-ERP simulator:
#   bash samples/demo.sh
# The samples are copied into ./inbox; `clerk serve` takes and classifies them, and the bundled
# bots carry them into the simulated ERP (SOAP vendor lookup + JSON API, the web form with its
# login, the CSV drop folder). The result is printed: documents, runs, the exception queue, and
# what the ERP received.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup-debian.sh
cargo build --release --locked --bins
clerk=target/release/clerk
rm -rf var/legacy-erp && mkdir -p inbox var

# The legacy system, on loopback; its password is the one bot secret.
target/release/legacy-erp --port 8089 --data var/legacy-erp >var-erp.log 2>&1 &
erp=$!
export ERP_URL=http://127.0.0.1:8089 ERP_DATA=var/legacy-erp CLERK_SECRET_ERP_PASSWORD=secret

$clerk check
$clerk serve >var-serve.log 2>&1 &
pid=$!
trap 'kill $pid $erp 2>/dev/null || true' EXIT
sleep 1
count=0
for f in samples/*.* samples/broken/*; do
  case "$f" in *.sh) continue ;; esac
  cp "$f" inbox/; count=$((count + 1))
done
echo "dropped $count sample files into ./inbox; waiting for clerk…"
for _ in $(seq 1 240); do
  settled=$($clerk documents list --json 2>/dev/null | grep -c '"status": "\(recognised\|exception\|duplicate\)"' || true)
  busy=$($clerk runs list --json 2>/dev/null | grep -c '"state": "\(queued\|running\)"' || true)
  [ "$settled" -ge "$count" ] && [ "$busy" -eq 0 ] && break
  sleep 0.5
done
echo; echo "== documents =="; $clerk documents list
echo; echo "== bot runs =="; $clerk runs list
echo; echo "== exception queue =="; $clerk exceptions list
echo; echo "== the scheduled bot, run by hand now =="; $clerk bots run nightly-erp-report || true
echo; echo "== what the ERP received =="; curl -s "$ERP_URL/_received" | sed 's/},{"channel"/},\n{"channel"/g'; echo
echo; echo "(logs: var-serve.log, var-erp.log; the store in ./var; run details: $clerk runs show ID)"
