"""The producer set's invoice, written by ReportLab: as text (`text OUT.pdf`) or as a scanned
page image placed on an A4 page (`scan IMAGE OUT.pdf`, or `inline IMAGE OUT.pdf` for an inline
image in the content stream)."""
import sys
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

LINES = [
    (20, "Umbrella Office Supplies GmbH"),
    (12, "Hafenstrasse 12, 20457 Hamburg, Germany"),
    (20, "INVOICE"),
    (12, "Invoice No: INV-7731"),
    (12, "Date: 03.06.2024"),
    (12, "Customer: Clerk Demo Ltd."),
    (12, "Copy paper A4, 500 sheets        20      4.10      82.00"),
    (12, "Archive boxes                    10      3.25      32.50"),
    (12, "Ballpoint pens, blue             50      0.45      22.50"),
    (12, "Net: EUR 137.00"),
    (12, "VAT 19%: EUR 26.03"),
    (12, "Total Due: EUR 163.03"),
    (12, "Payment within 30 days to IBAN DE89 3704 0044 0532 0130 00, BIC COBADEFFXXX."),
]

def text(out):
    c = canvas.Canvas(out, pagesize=A4)
    y = A4[1] - 72
    for size, line in LINES:
        c.setFont("Helvetica-Bold" if size > 12 else "Helvetica", size)
        c.drawString(56, y, line)
        y -= size * 2
    c.showPage()
    c.save()

def scan(image, out, inline=False):
    c = canvas.Canvas(out, pagesize=A4)
    if inline:
        # An inline image (BI … ID … EI inside the content stream).
        c.drawInlineImage(image, 0, 0, width=A4[0], height=A4[1])
    else:
        c.drawImage(image, 0, 0, width=A4[0], height=A4[1])
    c.showPage()
    c.save()

if __name__ == "__main__":
    if sys.argv[1] == "text":
        text(sys.argv[2])
    else:
        scan(sys.argv[2], sys.argv[3], inline=sys.argv[1] == "inline")
