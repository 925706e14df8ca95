#!/usr/bin/env bash
# Sets up a Debian machine, builds clerk, and runs it on the bundled samples beside the bundled
# legacy-ERP simulator:
#   bash samples/demo.sh
# The samples are copied into ./inbox and two e-mails (samples/mail) delivered into a Maildir
# (var/maildir, per samples/demo.toml); `clerk serve` takes and classifies them, and the bundled
# bots carry them into the simulated ERP (SOAP vendor lookup + JSON API, the web form with its
# login, the CSV drop folder). The result is printed: documents, runs, the exception queue, the
# mailbox, and what the ERP received.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup-debian.sh
cargo build --release --locked --bins
clerk=target/release/clerk
rm -rf var/legacy-erp var/maildir && mkdir -p inbox var/maildir/new var/maildir/cur var/maildir/tmp
export CLERK_CONFIG=samples/demo.toml

# The legacy system, on loopback; its password is the one bot secret.
target/release/legacy-erp --port 8089 --data var/legacy-erp >var-erp.log 2>&1 &
erp=$!
export ERP_URL=http://127.0.0.1:8089 ERP_DATA=var/legacy-erp CLERK_SECRET_ERP_PASSWORD=secret

$clerk check
$clerk init   # the store (var/, per samples/demo.toml); `clerk serve` would make it too
# Someone to sign in to the web app as: an admin with a generated password, printed at the end.
admin_password=""
if ! $clerk users list --json 2>/dev/null | grep -q '"name": "admin"'; then
  admin_password=$($clerk users add admin --role admin | sed -n 's/.*(shown once): //p')
fi
$clerk serve >var-serve.log 2>&1 &
pid=$!
trap 'kill $pid $erp 2>/dev/null || true' EXIT
sleep 1
count=0
for f in samples/*.* samples/broken/*; do
  case "$f" in *.sh|*.toml) continue ;; esac
  cp "$f" inbox/; count=$((count + 1))
done
for m in samples/mail/*.eml; do
  name="$(date +%s).$RANDOM.demo"
  cp "$m" "var/maildir/tmp/$name" && mv "var/maildir/tmp/$name" var/maildir/new/
done
count=$((count + 1)) # the invoice attached to one of the e-mails; the other matches no rule
echo "dropped $count sample files into ./inbox and var/maildir; waiting for clerk…"
for _ in $(seq 1 240); do
  settled=$($clerk documents list --json 2>/dev/null | grep -c '"status": "\(recognised\|exception\|duplicate\)"' || true)
  busy=$($clerk runs list --json 2>/dev/null | grep -c '"state": "\(queued\|running\)"' || true)
  [ "$settled" -ge "$count" ] && [ "$busy" -eq 0 ] && break
  sleep 0.5
done
echo; echo "== documents =="; $clerk documents list
echo; echo "== bot runs =="; $clerk runs list
echo; echo "== exception queue =="; $clerk exceptions list
echo; echo "== mailbox =="; $clerk mail status || true
echo "var/maildir/new (left: no rule matched): $(ls var/maildir/new | wc -l) message(s); .Processed/cur: $(ls var/maildir/.Processed/cur 2>/dev/null | wc -l)"
echo; echo "== the scheduled bot, run by hand now =="; $clerk bots run nightly-erp-report || true
echo; echo "== what the ERP received =="; curl -s "$ERP_URL/_received" | sed 's/},{"channel"/},\n{"channel"/g'; echo
echo; echo "(logs: var-serve.log, var-erp.log; the store in ./var; run details: $clerk runs show ID)"
url=$(grep -o 'on http://[0-9.:]*' var-serve.log | tail -1 | cut -c4- || true)
echo; echo "== the web app =="
echo "$url/  — sign in as admin, password: ${admin_password:-(set on an earlier run; add another with $clerk users add NAME --role admin)}"
echo "the API: $url/api/v1 (OpenAPI: $url/api/v1/openapi.json)"
if [ -t 0 ]; then
  read -r -p "clerk keeps running for the web app; press Enter to stop it. " _
fi
