"""Hybrid e-invoices (PDF + embedded XML) from e-invoice XMLs, as two real embedders write them:
the printed page drawn with ReportLab from the XML's own data (read by read.py), then the XML
attached by the `factur-x` package (Akretion's: PDF/A-3 metadata, /AF with AFRelationship Data,
`factur-x.xml` or `xrechnung.xml`) and, separately, by `drafthorse` (pretix's). For each
XML NAME: NAME.facturx.pdf and NAME.drafthorse.pdf in OUT.

    make_pdfs.py OUT XML...

`--total TEXT` prints TEXT as the page's total instead of the XML's (a printed copy that
disagrees with its data); `--bare` also writes the page alone, NAME.page.pdf (what reading the
XML adds to reading the PDF).
"""
import io
import os
import sys

import facturx
from drafthorse.pdf import attach_xml
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

sys.path.insert(0, os.path.dirname(__file__))
import read  # noqa: E402


def page(f, total=None):
    """A one-page invoice showing the XML's number, parties, lines and totals."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    c.setTitle(f"Invoice {f.get('invoice_number', '')}")
    y = 800

    def line(text, size=10, x=50):
        nonlocal y
        c.setFont("Helvetica", size)
        c.drawString(x, y, text[:110])
        y -= size + 4
        if y < 60:
            c.showPage()
            y = 800

    kind = "CREDIT NOTE" if f.get("credit_note") else "INVOICE"
    line(f"{kind} {f.get('invoice_number', '')}", 16)
    line(f"Date: {f.get('issue_date', '')}   Due: {f.get('due_date', '')}")
    line(f"Seller: {f.get('seller_name', '')}  VAT {f.get('seller_vat_id', '')}")
    line(f"Buyer: {f.get('buyer_name', '')}")
    y -= 10
    for item in f.get("lines", []):
        line(f"{item.get('position', '')}  {item.get('item_name', '')}  {item.get('quantity', '')} x {item.get('unit_price', '')} = {item.get('net_amount', '')}", 9)
    y -= 10
    cur = f.get("currency", "")
    line(f"Net: {f.get('total_net', '')} {cur}")
    line(f"VAT: {f.get('total_tax', '')} {cur}")
    line(f"Total: {total or f.get('total', '')} {cur}", 12)
    if f.get("iban"):
        line(f"IBAN {f['iban']}")
    c.showPage()
    c.save()
    return buf.getvalue()


def main(argv):
    total, bare = None, False
    if argv[0] == "--total":
        total, argv = argv[1], argv[2:]
    if argv[0] == "--bare":
        bare, argv = True, argv[1:]
    out, files = argv[0], argv[1:]
    os.makedirs(out, exist_ok=True)
    for path in files:
        fields = read.read(path)
        if fields is None or fields["syntax"] == "UBL":
            continue  # Factur-X and ZUGFeRD carry CII
        xml = open(path, "rb").read()
        pdf = page(fields, total)
        stem = os.path.join(out, os.path.splitext(os.path.basename(path))[0])
        if bare:
            with open(stem + ".page.pdf", "wb") as fh:
                fh.write(pdf)
        # XRechnung and the EN 16931 examples are all EN 16931 (or a CIUS of it).
        level = "en16931"
        # Each embedder has XMLs it refuses (factur-x trips over a default namespace): those
        # are named on stderr and left out.
        for suffix, embed in ((".facturx.pdf", lambda: facturx.generate_from_binary(pdf, xml, flavor="factur-x", level=level, check_xsd=False)),
                              (".drafthorse.pdf", lambda: attach_xml(pdf, xml, "EN 16931"))):
            try:
                made = embed()
            except Exception as e:  # noqa: BLE001 - the embedder's own failure, reported
                print(f"skipped {stem}{suffix}: {type(e).__name__}: {e}", file=sys.stderr)
                continue
            with open(stem + suffix, "wb") as fh:
                fh.write(made)


if __name__ == "__main__":
    main(sys.argv[1:])
