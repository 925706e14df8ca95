"""The `InvoiceGenerator` package (PyPI, BSD) prints invoices: a layout and wording nobody here
wrote ("Invoice num.:", "Date of exposure", "Vat in:", "Total with tax", amounts in the locale's
currency format by babel). It reads its language from INVOICE_LANG when imported, so make.py
runs this once per language:

    INVOICE_LANG=en invoicegenerator.py JOBS.json      (JOBS: [{"pdf", "fields", "lines"}])

Items are the XML's lines when their net amounts add up to the invoice's net total, else one
line of the net total; every item carries the invoice's overall tax rate, so the printed
"Total" and "Total with tax" are the XML's net and gross totals.
"""
import json
import os
import sys
from datetime import date
from decimal import Decimal

from InvoiceGenerator.api import Client, Creator, Invoice, Item, Provider
from InvoiceGenerator.pdf import SimpleInvoice

LOCALES = {"en": "en_US", "pt_BR": "pt_BR"}


def when(value):
    return date.fromisoformat(value) if value else None


def make(job, locale):
    f, lines = job["fields"], job["lines"]
    net, tax = Decimal(f["total_net"]), Decimal(f.get("total_tax") or "0")
    invoice = Invoice(
        Client(f.get("buyer_name", ""), vat_id=f.get("buyer_vat_id", "")),
        Provider(f.get("seller_name", ""), vat_id=f.get("seller_vat_id", ""), bank_account=""),
        Creator(""),
    )
    invoice.currency_locale = locale
    invoice.currency = f["currency"]
    invoice.number = f["invoice_number"]
    invoice.date = when(f.get("issue_date"))
    invoice.payback = when(f.get("due_date"))
    invoice.iban = f.get("iban")
    invoice.swift = f.get("bic")
    invoice.use_tax = True
    rate = (tax * 100 / net) if net else Decimal(0)
    nets = [Decimal(l["net_amount"]) for l in lines if l.get("net_amount")]
    if lines and len(nets) == len(lines) and sum(nets) == net and all(Decimal(l.get("quantity") or 0) for l in lines):
        for l in lines:
            q = Decimal(l["quantity"])
            invoice.add_item(Item(q, Decimal(l["net_amount"]) / q, description=(l.get("item_name") or "")[:60], tax=rate))
    else:
        invoice.add_item(Item(1, net, description="Services as agreed", tax=rate))
    SimpleInvoice(invoice).gen(job["pdf"], generate_qr_code=False)


def main():
    locale = LOCALES[os.environ["INVOICE_LANG"]]
    for job in json.load(open(sys.argv[1])):
        try:
            make(job, locale)
        except Exception as e:  # a job this package cannot print is left out, said once
            print(f"{job['pdf']}: {e}", file=sys.stderr)


if __name__ == "__main__":
    main()
