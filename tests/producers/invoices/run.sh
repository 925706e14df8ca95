#!/usr/bin/env bash
# How well the generic invoice reader reads invoices it has no template for:
# `bash tests/producers/invoices/run.sh` prints the e-invoice corpus's XMLs through six
# producers (make.py: Saxon + the XRechnung visualisation, Chromium, Apache FOP, a LibreOffice
# Writer template, the InvoiceGenerator package, ReportLab) into target/invoice-corpus once
# (again when the producers' scripts change), scans one print of each (scan.py), then
# reads them all with clerk and prints the share right per field, producer and language
# (measure.py), and how many of a vendor's invoices go straight through after an agent's
# correction (tests/vendor_corpus.rs). Exits 1 when a figure is below issue 21's floors.
# Needs ../shared/corpora/einvoice. A measurement, not part of the test suite (printing and
# scanning 708 invoices takes about fifteen minutes the first time).
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
# A corpus printed by other versions of the producers is printed again.
stamp=$(cd tests/producers/invoices && cat make.py odt.py invoicegenerator.py scan.py ../../oracle/einvoice/requirements.txt | sha256sum | cut -c1-16)
if [ "$(cat target/invoice-corpus/stamp 2>/dev/null)" != "$stamp" ]; then
  rm -rf target/invoice-corpus
fi
if [ ! -s target/invoice-corpus/truth.jsonl ]; then
  find "$corpus" -name '*.xml' -print0 | sort -z |
    xargs -0 "$venv/bin/python" tests/producers/invoices/make.py target/invoice-corpus
fi
if [ ! -s target/invoice-corpus/scans.jsonl ]; then
  "$venv/bin/python" tests/producers/invoices/scan.py target/invoice-corpus
fi
echo "$stamp" > target/invoice-corpus/stamp
others=(); [ -d ../shared/corpora/pdf-samples ] && others=(--others ../shared/corpora/pdf-samples)
cargo build --locked --release --bins
status=0
"$venv/bin/python" tests/producers/invoices/measure.py target/release/clerk target/invoice-corpus --floors "${others[@]}" || status=1
CLERK_INVOICE_CORPUS=target/invoice-corpus cargo test --locked --release --test vendor_corpus -- --nocapture || status=1
exit $status
