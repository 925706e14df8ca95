"""The invoice of tests/producers/invoice.html as Office files, HTML and mail, written by the
libraries systems use to make them: openpyxl (xlsx), python-docx (docx), python-pptx (pptx), and
Python's own email package (a MIME .eml with a text and an HTML part). `make.py OUT_DIR`."""
import sys
from datetime import date
from email.message import EmailMessage
from pathlib import Path

import docx
import openpyxl
import pptx

out = Path(sys.argv[1])
SELLER = ["Umbrella Office Supplies GmbH", "Hafenstrasse 12, 20457 Hamburg, Germany"]
HEAD = [("Invoice No:", "INV-7731"), ("Date:", "03.06.2024"), ("Customer:", "Clerk Demo Ltd.")]
LINES = [("Copy paper A4, 500 sheets", 20, 4.10, 82.00), ("Archive boxes", 10, 3.25, 32.50), ("Ballpoint pens, blue", 50, 0.45, 22.50)]
SUMS = [("Net:", "EUR 137.00"), ("VAT 19%:", "EUR 26.03"), ("Total Due:", "EUR 163.03")]
PAY = "Payment within 30 days to IBAN DE89 3704 0044 0532 0130 00, BIC COBADEFFXXX."

# Excel: the head as label/value cells, the date as a real date cell, the lines as numbers.
wb = openpyxl.Workbook()
ws = wb.active
ws.title = "Invoice"
for s in SELLER + ["INVOICE"]:
    ws.append([s])
ws.append(["Invoice No:", "INV-7731"])
ws.append(["Date:", date(2024, 6, 3)])
ws.cell(ws.max_row, 2).number_format = "DD.MM.YYYY"
ws.append(["Customer:", "Clerk Demo Ltd."])
ws.append([])
ws.append(["Item", "Quantity", "Unit price", "Amount"])
for line in LINES:
    ws.append(list(line))
for label, value in SUMS:
    ws.append([label, None, None, value])
ws.append([PAY])
notes = wb.create_sheet("Notes")
notes.append(["Thank you for your order."])
wb.save(out / "office-openpyxl.xlsx")

# Word: paragraphs and a table of the lines.
d = docx.Document()
for s in SELLER:
    d.add_paragraph(s)
d.add_heading("INVOICE", level=1)
d.add_paragraph("\n".join(f"{k} {v}" for k, v in HEAD))
t = d.add_table(rows=1, cols=4)
for cell, h in zip(t.rows[0].cells, ["Item", "Quantity", "Unit price", "Amount"]):
    cell.text = h
for line in LINES:
    for cell, v in zip(t.add_row().cells, line):
        cell.text = f"{v:.2f}" if isinstance(v, float) else str(v)
d.add_paragraph("\n".join(f"{k} {v}" for k, v in SUMS))
d.add_paragraph(PAY)
d.save(out / "office-python-docx.docx")

# PowerPoint: the invoice on one slide, the payment terms on a second.
p = pptx.Presentation()
slide = p.slides.add_slide(p.slide_layouts[1])
slide.shapes.title.text = "INVOICE"
body = slide.placeholders[1].text_frame
body.text = SELLER[0]
for line in [SELLER[1]] + [f"{k} {v}" for k, v in HEAD + SUMS]:
    body.add_paragraph().text = line
second = p.slides.add_slide(p.slide_layouts[1])
second.shapes.title.text = "Payment"
second.placeholders[1].text_frame.text = PAY
p.save(out / "office-python-pptx.pptx")

# Mail: the invoice as the message itself, text and HTML alternatives.
m = EmailMessage()
m["From"] = "Umbrella Office Supplies <billing@umbrella.example>"
m["To"] = "Accounts payable <ap@clerk.example>"
m["Subject"] = "Invoice INV-7731"
m["Date"] = "Mon, 03 Jun 2024 09:30:00 +0200"
text = "\n".join(SELLER + ["", "INVOICE"] + [f"{k} {v}" for k, v in HEAD] + [""] + [f"{k} {v}" for k, v in SUMS] + ["", PAY])
m.set_content(text)
m.add_alternative((Path(__file__).parent.parent / "invoice.html").read_text(), subtype="html")
(out / "office-python-email.eml").write_bytes(bytes(m))
