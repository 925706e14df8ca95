#!/usr/bin/env bash
# How well the generic invoice reader reads invoices it has no template for:
# `bash tests/producers/invoices/run.sh` prints the e-invoice corpus's XMLs through five
# producers (make.py: Saxon + the XRechnung visualisation, Chromium, Apache FOP, LibreOffice
# Writer, ReportLab) into target/invoice-corpus once, then reads them all with clerk and prints
# the share right per field, producer and language (measure.py). Needs ../shared/corpora/einvoice.
# A measurement, not part of the test suite (printing 590 invoices takes about ten minutes).
set -euo pipefail
cd "$(dirname "$0")/../../.."
corpus=../shared/corpora/einvoice
if [ ! -d "$corpus" ]; then
  echo "skipped: $corpus is absent" >&2
  exit 0
fi
sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
missing=()
for p in default-jre-headless libsaxonhe-java fop chromium libreoffice-writer-nogui fonts-dejavu-core; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
venv=$(bash tests/support/venv.sh einvoice-oracle tests/oracle/einvoice/requirements.txt)
if [ ! -s target/invoice-corpus/truth.jsonl ]; then
  find "$corpus" -name '*.xml' -print0 | sort -z |
    xargs -0 "$venv/bin/python" tests/producers/invoices/make.py target/invoice-corpus
fi
cargo build --locked --release --bins
"$venv/bin/python" tests/producers/invoices/measure.py target/release/clerk target/invoice-corpus
