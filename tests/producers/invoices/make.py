"""Printed invoices whose fields are known, for measuring the generic invoice reader: every XML of
../shared/corpora/einvoice (EN 16931 examples, XRechnung suite) printed by independent producers,
with the XML's own fields (tests/oracle/einvoice/read.py, lxml) as the truth.

Producers:
  xr-chromium   the German administration's XRechnung visualisation (XSLT 2.0, Saxon) to HTML,
                printed by Chromium: a layout nobody here wrote, German labels.
  xr-fop        the same visualisation's XSL-FO, typeset by Apache FOP (a second layout).
  html-chromium an HTML invoice in one of eight languages (en de fr nl es it pt pl, by turns),
                printed by Chromium; two arrangements (labels beside / above their values).
  writer-odt    a Writer document laid out as LibreOffice's invoice templates are (odt.py), in
                the eight languages with their own date and money formats, exported by
                LibreOffice to PDF.
  invoicegenerator  the `InvoiceGenerator` package's layout (en, pt_BR), invoicegenerator.py.
  reportlab     a ReportLab page in the same eight languages, laid out in boxes.

    make.py OUT XML...     (in the einvoice-oracle venv; needs java + Saxon-HE, fop, chromium,
                            soffice on PATH; a producer whose program is missing is skipped)

Writes OUT/<producer>/<name>.pdf and OUT/truth.jsonl: {"file", "producer", "language", "fields",
"lines"}: "lines" are the invoice lines the producer printed, from the XML ("position", "item_name",
"quantity", "unit_price", "net_amount"...), or null where it printed only some of them.
"""
import hashlib
import html
import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "oracle" / "einvoice"))
sys.path.insert(0, str(HERE))
import read  # noqa: E402
import odt  # noqa: E402
from lxml import etree  # noqa: E402

XR = HERE.parent.parent.parent.parent / "shared" / "tools" / "xrechnung-visualization" / "xsl"
SAXON = "/usr/share/java/Saxon-HE.jar"
LANGUAGES = ["en", "de", "fr", "nl", "es", "it", "pt", "pl"]

# What each language prints before each value (as invoices in that language commonly do).
LABELS = {
    "en": dict(title="INVOICE", number="Invoice No.", date="Invoice date", due="Due date", order="Purchase order",
               buyer="Bill to", seller="Supplier", vat="VAT ID", item="Description", qty="Qty", price="Unit price",
               amount="Amount", net="Subtotal", tax="VAT", total="Total", payable="Amount due"),
    "de": dict(title="RECHNUNG", number="Rechnungsnummer", date="Rechnungsdatum", due="Fälligkeitsdatum",
               order="Bestellnummer", buyer="Rechnungsempfänger", seller="Lieferant", vat="USt-IdNr.",
               item="Beschreibung", qty="Menge", price="Einzelpreis", amount="Betrag", net="Nettobetrag",
               tax="USt.", total="Gesamtbetrag", payable="Zahlbetrag"),
    "fr": dict(title="FACTURE", number="N° de facture", date="Date de facture", due="Date d'échéance",
               order="Bon de commande", buyer="Client", seller="Fournisseur", vat="N° TVA intracommunautaire",
               item="Désignation", qty="Qté", price="Prix unitaire", amount="Montant", net="Total HT", tax="TVA",
               total="Total TTC", payable="Net à payer"),
    "nl": dict(title="FACTUUR", number="Factuurnummer", date="Factuurdatum", due="Vervaldatum", order="Bestelnummer",
               buyer="Klant", seller="Leverancier", vat="Btw-nummer", item="Omschrijving", qty="Aantal",
               price="Prijs", amount="Bedrag", net="Subtotaal", tax="Btw", total="Totaal", payable="Te betalen"),
    "es": dict(title="FACTURA", number="Nº de factura", date="Fecha de factura", due="Fecha de vencimiento",
               order="Pedido", buyer="Cliente", seller="Proveedor", vat="NIF-IVA", item="Descripción",
               qty="Cantidad", price="Precio unitario", amount="Importe", net="Base imponible", tax="IVA",
               total="Total factura", payable="Total a pagar"),
    "it": dict(title="FATTURA", number="Fattura n.", date="Data fattura", due="Data di scadenza", order="Ordine",
               buyer="Cliente", seller="Fornitore", vat="Partita IVA", item="Descrizione", qty="Quantità",
               price="Prezzo unitario", amount="Importo", net="Imponibile", tax="IVA", total="Totale",
               payable="Totale da pagare"),
    "pt": dict(title="FATURA", number="Fatura n.º", date="Data da fatura", due="Data de vencimento",
               order="Encomenda", buyer="Cliente", seller="Fornecedor", vat="NIF", item="Descrição",
               qty="Quantidade", price="Preço unitário", amount="Valor", net="Subtotal", tax="IVA", total="Total",
               payable="Total a pagar"),
    "pl": dict(title="FAKTURA VAT", number="Nr faktury", date="Data wystawienia", due="Termin płatności",
               order="Zamówienie", buyer="Nabywca", seller="Sprzedawca", vat="NIP", item="Opis", qty="Ilość",
               price="Cena jedn.", amount="Wartość", net="Razem netto", tax="VAT", total="Razem brutto",
               payable="Do zapłaty"),
}
MONTHS = {
    "en": "January February March April May June July August September October November December",
}


def money(value, lang):
    if value is None:
        return ""
    d = Decimal(value).quantize(Decimal("0.01"))
    whole, cents = f"{abs(d):,.2f}".split(".")
    sign = "-" if d < 0 else ""
    if lang == "en":
        return f"{sign}{whole}.{cents}"
    if lang == "fr":
        return f"{sign}{whole.replace(',', ' ')},{cents}"
    return f"{sign}{whole.replace(',', '.')},{cents}"


def day(value, lang):
    if not value:
        return ""
    y, m, d = value.split("-")
    if lang == "en":
        return f"{int(d)} {MONTHS['en'].split()[int(m) - 1]} {y}"
    if lang in ("de", "pl"):
        return f"{d}.{m}.{y}"
    if lang == "nl":
        return f"{d}-{m}-{y}"
    return f"{d}/{m}/{y}"


def iban_groups(iban):
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4)) if iban else ""


def pick(name, choices):
    """A stable choice per file (the same file always gets the same language)."""
    return choices[int(hashlib.sha256(name.encode()).hexdigest(), 16) % len(choices)]


def invoice_html(f, lines, lang, beside):
    L = LABELS[lang]
    cur = f.get("currency", "")
    e = html.escape
    meta = [(L["number"], f.get("invoice_number")), (L["date"], day(f.get("issue_date"), lang)),
            (L["due"], day(f.get("due_date"), lang)), (L["order"], f.get("purchase_order"))]
    meta = [(k, v) for k, v in meta if v]
    # Flat tables with widths as attributes: what Writer's HTML import lays out as Chromium does.
    if beside:
        meta_html = "<br>".join(f"{e(k)}: {e(v)}" for k, v in meta)
        grid = ""
    else:
        meta_html = ""
        grid = ("<table width='100%'><tr>" + "".join(f"<td>{e(k)}</td>" for k, _ in meta) + "</tr><tr>"
                + "".join(f"<td>{e(v)}</td>" for _, v in meta) + "</tr></table>")
    rows = "".join(
        f"<tr><td>{e(l.get('item_name') or '')}</td><td class='n'>{e(l.get('quantity') or '')}</td>"
        f"<td class='n'>{money(l.get('unit_price'), lang)}</td><td class='n'>{money(l.get('net_amount'), lang)}</td></tr>"
        for l in lines)
    seller_vat = f"<br>{e(L['vat'])}: {e(f['seller_vat_id'])}" if f.get("seller_vat_id") else ""
    buyer_vat = f"<br>{e(L['vat'])}: {e(f['buyer_vat_id'])}" if f.get("buyer_vat_id") else ""
    totals = [(L["net"], f.get("total_net")), (L["tax"], f.get("total_tax")), (L["total"], f.get("total")),
              (L["payable"], f.get("amount_due"))]
    totals_html = "".join(f"<tr><td>{e(k)}</td><td class='n'>{money(v, lang)} {e(cur)}</td></tr>" for k, v in totals if v)
    bank = ""
    if f.get("iban"):
        bank = f"IBAN {e(iban_groups(f['iban']))}" + (f" &nbsp; BIC {e(f['bic'])}" if f.get("bic") else "")
    return f"""<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><style>
body {{ font-family: 'DejaVu Sans', sans-serif; font-size: 10pt; margin: 2cm; }}
.top {{ width: 100%; }} .top td {{ vertical-align: top; padding: 0; }} h1 {{ font-size: 18pt; }}
table {{ border-collapse: collapse; }} td, th {{ padding: 2pt 8pt; text-align: left; }}
.items {{ width: 100%; margin: 1cm 0; }} .items th {{ border-bottom: 1px solid #000; }}
.n {{ text-align: right; }} .totals {{ margin-left: auto; }} .grid th {{ font-weight: normal; color: #444; }}
</style></head><body>
<table width="100%"><tr><td width="50%"><b>{e(L['seller'])}</b><br>{e(f.get('seller_name', ''))}{seller_vat}</td><td width="50%"><h1>{e(L['title'])}</h1></td></tr></table>
<table width="100%"><tr><td width="50%"><b>{e(L['buyer'])}</b><br>{e(f.get('buyer_name', ''))}{buyer_vat}</td><td width="50%">{meta_html}</td></tr></table>
{grid}
<table class="items" width="100%"><tr><th>{e(L['item'])}</th><th class='n'>{e(L['qty'])}</th><th class='n'>{e(L['price'])}</th><th class='n'>{e(L['amount'])}</th></tr>{rows}</table>
<table class="totals" align="right" width="50%">{totals_html}</table>
<p>{bank}</p></body></html>"""


def reportlab_pdf(path, f, lines, lang):
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    font = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    name = "Helvetica"
    if os.path.exists(font):
        pdfmetrics.registerFont(TTFont("DejaVu", font))
        name = "DejaVu"
    L = LABELS[lang]
    c = canvas.Canvas(str(path), pagesize=A4)
    w, h = A4
    c.setFont(name, 16)
    c.drawString(40, h - 60, L["title"])
    c.setFont(name, 9)
    c.drawString(40, h - 90, f.get("seller_name", ""))
    if f.get("seller_vat_id"):
        c.drawString(40, h - 102, f"{L['vat']} {f['seller_vat_id']}")
    c.drawString(40, h - 140, L["buyer"])
    c.drawString(40, h - 152, f.get("buyer_name", ""))
    if f.get("buyer_vat_id"):
        c.drawString(40, h - 164, f"{L['vat']} {f['buyer_vat_id']}")
    # Boxes: the label small above, the value under it.
    x = 300
    for key, value in [("number", f.get("invoice_number")), ("date", day(f.get("issue_date"), lang)),
                       ("due", day(f.get("due_date"), lang))]:
        if not value:
            continue
        c.rect(x - 4, h - 160, 86, 30)
        c.setFont(name, 7)
        c.drawString(x, h - 140, L[key])
        c.setFont(name, 9)
        c.drawString(x, h - 154, value)
        x += 92
    y = h - 210
    c.setFont(name, 8)
    for label, xx in [(L["item"], 40), (L["qty"], 330), (L["price"], 390), (L["amount"], 480)]:
        c.drawString(xx, y, label)
    for line in lines[:25]:
        y -= 14
        c.drawString(40, y, (line.get("item_name") or "")[:50])
        c.drawRightString(360, y, line.get("quantity") or "")
        c.drawRightString(450, y, money(line.get("unit_price"), lang))
        c.drawRightString(540, y, money(line.get("net_amount"), lang))
    y -= 30
    c.setFont(name, 9)
    for key, value in [("net", f.get("total_net")), ("tax", f.get("total_tax")), ("total", f.get("total")),
                       ("payable", f.get("amount_due"))]:
        if value:
            c.drawString(360, y, L[key])
            c.drawRightString(540, y, f"{money(value, lang)} {f.get('currency', '')}")
            y -= 14
    if f.get("iban"):
        c.drawString(40, 60, f"IBAN {iban_groups(f['iban'])}" + (f"   BIC {f['bic']}" if f.get("bic") else ""))
    c.save()


def first_25(lines):
    """The lines of a producer that prints the first 25: all of them, else null (not measured)."""
    return lines if len(lines) <= 25 else None


def ig_lines(f, lines):
    """The lines invoicegenerator.py prints: the XML's where their net amounts add up to the net
    total and each has a quantity, else one line of the net total."""
    net = Decimal(f["total_net"])
    nets = [Decimal(l["net_amount"]) for l in lines if l.get("net_amount")]
    if lines and len(nets) == len(lines) and sum(nets) == net and all(Decimal(l.get("quantity") or 0) for l in lines):
        return [{"item_name": (l.get("item_name") or "")[:60], "quantity": l["quantity"], "net_amount": l["net_amount"]}
                for l in lines]
    return [{"item_name": "Services as agreed", "quantity": "1", "net_amount": f["total_net"]}]


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300, **kw).returncode == 0


def chromium_print(html_file, pdf):
    return run(["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-pdf-header-footer", f"--print-to-pdf={pdf}", html_file.as_uri()])


def main():
    out = Path(sys.argv[1]).resolve()
    xmls = [Path(p) for p in sys.argv[2:]]
    out.mkdir(parents=True, exist_ok=True)
    truth = []
    work = out / "work"
    work.mkdir(exist_ok=True)
    have = {p: shutil.which(p) is not None for p in ["java", "fop", "chromium", "soffice"]}
    have["saxon"] = have["java"] and os.path.exists(SAXON)
    html_dir = work / "html"
    html_dir.mkdir(exist_ok=True)
    xr_sources, xr_truth, parsed, odt_lang = {}, {}, {}, {}
    for xml in xmls:
        root = etree.parse(str(xml)).getroot()
        local = etree.QName(root).localname
        if local == "CrossIndustryInvoice":
            fields, lines = read.cii(root, False), None
        elif local == "CrossIndustryDocument":
            continue
        else:
            fields, lines = read.ubl(root, local == "CreditNote"), None
        if isinstance(fields, tuple):
            fields, lines = fields
        lines = (fields.pop("lines", None) if isinstance(fields, dict) else None) or lines or []
        stem = f"{xml.parent.name}-{xml.stem}"
        lang = pick(stem, LANGUAGES)
        record = lambda producer, pdf, language, printed: truth.append(
            {"file": str(pdf), "producer": producer, "language": language, "fields": fields, "lines": printed})
        xr_sources.setdefault(local, []).append((xml, stem))
        xr_truth[stem] = fields
        parsed[stem] = (fields, lines)
        beside = pick(stem + "layout", [True, False])
        page = html_dir / f"{stem}.html"
        page.write_text(invoice_html(fields, lines, lang, beside), encoding="utf-8")
        if have["chromium"]:
            pdf = out / "html-chromium" / f"{stem}.pdf"
            pdf.parent.mkdir(exist_ok=True)
            if chromium_print(page, pdf):
                record("html-chromium", pdf, lang, lines)
        pdf = out / "reportlab" / f"{stem}.pdf"
        pdf.parent.mkdir(exist_ok=True)
        rl_lang = pick(stem + "rl", LANGUAGES)
        reportlab_pdf(pdf, fields, lines, rl_lang)
        record("reportlab", pdf, rl_lang, first_25(lines))
    # The visualisation: XML -> its XR form -> HTML and FO, each step one Saxon run over a folder.
    if have["saxon"]:
        xr_dir, page_dir, fo_dir = work / "xr", work / "xr-html", work / "xr-fo"
        for d in (xr_dir, page_dir, fo_dir):
            d.mkdir(exist_ok=True)
        for local, items in xr_sources.items():
            xsl = {"CrossIndustryInvoice": "cii-xr.xsl", "Invoice": "ubl-invoice-xr.xsl", "CreditNote": "ubl-creditnote-xr.xsl"}[local]
            src = work / f"src-{local}"
            src.mkdir(exist_ok=True)
            for xml, stem in items:
                link = src / f"{stem}.xml"
                if not link.exists():
                    link.symlink_to(xml.resolve())
            run(["java", "-jar", SAXON, f"-s:{src}", f"-xsl:{XR / xsl}", f"-o:{xr_dir}"])
        run(["java", "-jar", SAXON, f"-s:{xr_dir}", f"-xsl:{XR / 'xrechnung-html.xsl'}", f"-o:{page_dir}"])
        if have["fop"]:
            run(["java", "-jar", SAXON, f"-s:{xr_dir}", f"-xsl:{XR / 'xr-pdf.xsl'}", f"-o:{fo_dir}"])
        for stem, fields in sorted(xr_truth.items()):
            page = page_dir / f"{stem}.xml"
            html_page = page.with_suffix(".html")
            if page.exists():
                page.rename(html_page)
            if have["chromium"] and html_page.exists():
                pdf = out / "xr-chromium" / f"{stem}.pdf"
                pdf.parent.mkdir(exist_ok=True)
                if chromium_print(html_page, pdf):
                    truth.append({"file": str(pdf), "producer": "xr-chromium", "language": "de", "fields": fields,
                                  "lines": parsed[stem][1]})
            fo = fo_dir / f"{stem}.xml"
            if have["fop"] and fo.exists():
                pdf = out / "xr-fop" / f"{stem}.pdf"
                pdf.parent.mkdir(exist_ok=True)
                if run(["fop", "-fo", str(fo), "-pdf", str(pdf)]):
                    truth.append({"file": str(pdf), "producer": "xr-fop", "language": "de", "fields": fields,
                                  "lines": parsed[stem][1]})
    if have["soffice"]:
        odt_dir, writer = work / "odt", out / "writer-odt"
        odt_dir.mkdir(exist_ok=True)
        writer.mkdir(exist_ok=True)
        for stem, (fields, lines) in sorted(parsed.items()):
            lang = pick(stem + "odt", LANGUAGES)
            (odt_dir / f"{stem}.fodt").write_text(odt.invoice_fodt(fields, lines, lang, LABELS[lang]), encoding="utf-8")
            odt_lang[stem] = lang
        run(["soffice", "--headless", "--convert-to", "pdf:writer_pdf_Export", "--outdir", str(writer)]
            + [str(p) for p in sorted(odt_dir.glob("*.fodt"))])
        for pdf in sorted(writer.glob("*.pdf")):
            if pdf.stem in parsed:
                truth.append({"file": str(pdf), "producer": "writer-odt", "language": odt_lang[pdf.stem],
                              "fields": parsed[pdf.stem][0], "lines": first_25(parsed[pdf.stem][1])})
    # InvoiceGenerator prints neither an amount due nor an order number; its totals are net and
    # net + tax, so a total that is not their sum is not on its page.
    ig_dir = out / "invoicegenerator"
    ig_dir.mkdir(exist_ok=True)
    jobs = {"en": [], "pt_BR": []}
    for stem, (fields, lines) in sorted(parsed.items()):
        if not fields.get("total_net") or not fields.get("currency") or not fields.get("invoice_number"):
            continue
        lang = pick(stem + "ig", list(jobs))
        shown = {k: v for k, v in fields.items() if k not in ("amount_due", "purchase_order", "prepaid")}
        if Decimal(fields.get("total") or "0") != Decimal(fields["total_net"]) + Decimal(fields.get("total_tax") or "0"):
            shown.pop("total", None)
        jobs[lang].append({"pdf": str(ig_dir / f"{stem}.pdf"), "fields": shown, "lines": lines,
                           "printed": ig_lines(fields, lines)})
    for lang, batch in jobs.items():
        spec = work / f"ig-{lang}.json"
        spec.write_text(json.dumps(batch))
        subprocess.run([sys.executable, str(HERE / "invoicegenerator.py"), str(spec)], env={**os.environ, "INVOICE_LANG": lang},
                       stdout=subprocess.DEVNULL, timeout=600)
        for job in batch:
            if Path(job["pdf"]).exists():
                truth.append({"file": job["pdf"], "producer": "invoicegenerator", "language": lang[:2],
                              "fields": job["fields"], "lines": job["printed"]})
    with open(out / "truth.jsonl", "w") as fh:
        for t in truth:
            fh.write(json.dumps(t) + "\n")
    print(f"{len(truth)} invoices: " + ", ".join(
        f"{p} {sum(1 for t in truth if t['producer'] == p)}" for p in sorted({t['producer'] for t in truth})))


if __name__ == "__main__":
    main()
