"""An HTML invoice from an e-invoice XML's data (read by tests/oracle/einvoice/read.py), for
LibreOffice to print: `page_html.py FILE.xml > FILE.html`."""
import html
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../oracle/einvoice"))
import read  # noqa: E402

f = read.read(sys.argv[1])
e = html.escape
rows = "".join(
    f"<tr><td>{e(l.get('position', ''))}</td><td>{e(l.get('item_name', ''))}</td><td>{e(l.get('quantity', ''))}</td>"
    f"<td>{e(l.get('unit_price', ''))}</td><td>{e(l.get('net_amount', ''))}</td></tr>"
    for l in f["lines"]
)
cur = e(f.get("currency", ""))
print(f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Invoice {e(f['invoice_number'])}</title></head><body>
<h1>Invoice {e(f['invoice_number'])}</h1>
<p>Date {e(f.get('issue_date', ''))} &middot; due {e(f.get('due_date', ''))}</p>
<p>{e(f.get('seller_name', ''))}, VAT ID {e(f.get('seller_vat_id', ''))}<br>to {e(f.get('buyer_name', ''))}</p>
<table border="1"><tr><th>Pos</th><th>Item</th><th>Qty</th><th>Price</th><th>Net</th></tr>{rows}</table>
<p>Net {e(f.get('total_net', ''))} {cur} &middot; VAT {e(f.get('total_tax', ''))} {cur}</p>
<p><b>Total {e(f.get('total', ''))} {cur}</b></p>
<p>IBAN {e(f.get('iban', ''))}</p>
</body></html>""")
