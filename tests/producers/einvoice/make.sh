#!/usr/bin/env bash
# Hybrid e-invoices from clerk's own sample XMLs (samples/e-invoice-*.xml), by producers other
# than the two the tests run themselves (tests/oracle/einvoice/make_pdfs.py): written into
# tests/fixtures/einvoice/ and committed, so the tests need none of these programs.
#   - LibreOffice's PDF/A-3 export of an HTML invoice, the XML attached by the factur-x package;
#   - qpdf attaching the XML to a ReportLab page (the EmbeddedFiles name tree only, no /AF);
#   - ZUGFeRD 1.0 as ZUGFeRD-invoice.xml: pypdf on LibreOffice's page (the factur-x package
#     writes no ZUGFeRD 1.x), and qpdf.
# Needs libreoffice (writer), qpdf and the venv of tests/oracle/einvoice.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="$root/tests/fixtures/einvoice"
venv="$(bash "$root/tests/support/venv.sh" einvoice-oracle "$root/tests/oracle/einvoice/requirements.txt")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
py="$venv/bin/python"
for name in xrechnung zugferd1; do
  xml="$root/samples/e-invoice-$name.xml"
  # The page: HTML from the XML's data (LibreOffice), and ReportLab's (make_pdfs.py --bare).
  "$py" "$here/page_html.py" "$xml" > "$tmp/$name.html"
  (cd "$tmp" && soffice --headless --infilter='HTML (StarWriter)' --convert-to 'pdf:writer_pdf_Export:{"SelectPdfVersion":{"type":"long","value":"3"}}' "$name.html" >/dev/null 2>&1)
  "$py" "$root/tests/oracle/einvoice/make_pdfs.py" --bare "$tmp/rl" "$xml" 2>/dev/null || true
  page="$tmp/rl/e-invoice-$name.page.pdf"
  if [ "$name" = xrechnung ]; then
    "$py" -c 'import sys, facturx; open(sys.argv[3], "wb").write(facturx.generate_from_binary(open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read(), flavor="factur-x", level="en16931", check_xsd=False))' \
      "$tmp/$name.pdf" "$xml" "$out/xrechnung.libreoffice-facturx.pdf"
    cp "$xml" "$tmp/xrechnung.xml"
    qpdf "$page" --add-attachment "$tmp/xrechnung.xml" --mimetype=text/xml -- "$out/xrechnung.qpdf.pdf"
  else
    # The factur-x package writes no ZUGFeRD 1.x; pypdf attaches it as ZUGFeRD 1.0 names it.
    "$py" -c 'import sys, pypdf; w = pypdf.PdfWriter(clone_from=sys.argv[1]); w.add_attachment("ZUGFeRD-invoice.xml", open(sys.argv[2], "rb").read()); w.write(sys.argv[3])' \
      "$tmp/$name.pdf" "$xml" "$out/zugferd1.libreoffice-pypdf.pdf"
    cp "$xml" "$tmp/ZUGFeRD-invoice.xml"
    qpdf "$page" --add-attachment "$tmp/ZUGFeRD-invoice.xml" --mimetype=text/xml -- "$out/zugferd1.qpdf.pdf"
  fi
done
ls -l "$out"
