#!/usr/bin/env bash
# The invoice as Office files, HTML and mail, into tests/fixtures/producers/office-*: LibreOffice
# Writer's Word, OpenDocument and RTF exports of tests/producers/invoice.html, LibreOffice Calc's
# Excel and OpenDocument exports of invoice.csv, the HTML itself, and what openpyxl, python-docx,
# python-pptx and Python's email package write (make.py). Needs libreoffice-writer-nogui and
# libreoffice-calc-nogui; the outputs are committed, so the tests need neither.
set -euo pipefail
cd "$(dirname "$0")"
out=../../fixtures/producers
mkdir -p "$out"
rm -f "$out"/office-*
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in docx odt rtf; do
  soffice --headless --infilter="HTML (StarWriter)" --convert-to "$f" --outdir "$tmp" ../invoice.html >/dev/null 2>&1
  cp "$tmp/invoice.$f" "$out/office-libreoffice.$f"
done
for f in xlsx ods; do
  soffice --headless --infilter="CSV:44,34,76,1" --convert-to "$f" --outdir "$tmp" invoice.csv >/dev/null 2>&1
  cp "$tmp/invoice.$f" "$out/office-libreoffice-calc.$f"
done
ln -s ../../producers/invoice.html "$out/office-invoice.html"
venv=$(bash ../../support/venv.sh office-producers requirements.txt)
"$venv/bin/python" make.py "$out"
ls "$out"/office-*
