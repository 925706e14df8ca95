"""An invoice as a LibreOffice Writer document (flat ODF, .fodt), laid out as Writer's own
invoice templates are: the seller's letterhead, the title and a two-column table of the
invoice's particulars on the right, the bill-to address on the left, a bordered item table
with a shaded header, a totals table under it on the right, and a footer with the bank
details and the seller's VAT number. LibreOffice converts it to PDF (make.py), so the text
layer, fonts and spacing are Writer's. Dates and amounts are written as each language's
users write them, unlike the HTML producer's.
"""
from decimal import Decimal
from xml.sax.saxutils import escape as e

MONTHS = {
    "en": "January February March April May June July August September October November December",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "nl": "januari februari maart april mei juni juli augustus september oktober november december",
}
MORE = {  # labels this layout uses beside make.py's LABELS
    "en": dict(page="Bank details", phone="Phone"), "de": dict(page="Bankverbindung", phone="Telefon"),
    "fr": dict(page="Coordonnées bancaires", phone="Tél."), "nl": dict(page="Bankgegevens", phone="Tel."),
    "es": dict(page="Datos bancarios", phone="Tel."), "it": dict(page="Coordinate bancarie", phone="Tel."),
    "pt": dict(page="Dados bancários", phone="Tel."), "pl": dict(page="Dane bankowe", phone="Tel."),
}
SYMBOL = {"EUR": "€", "USD": "$", "GBP": "£"}


def day(value, lang):
    if not value:
        return ""
    y, m, d = value.split("-")
    if lang == "en":
        return f"{MONTHS['en'].split()[int(m) - 1]} {int(d)}, {y}"
    if lang in ("fr", "nl"):
        return f"{int(d)} {MONTHS[lang].split()[int(m) - 1]} {y}"
    if lang == "de":
        return f"{d}.{m}.{y}"
    if lang == "pt":
        return f"{d}-{m}-{y}"
    if lang == "pl":
        return f"{y}-{m}-{d}"
    return f"{d}/{m}/{y}"


def money(value, cur, lang):
    if value is None:
        return ""
    d = Decimal(value).quantize(Decimal("0.01"))
    whole, cents = f"{abs(d):,.2f}".split(".")
    sign = "-" if d < 0 else ""
    sym = SYMBOL.get(cur)
    if lang == "en":
        return f"{sign}{sym}{whole}.{cents}" if sym else f"{sign}{cur} {whole}.{cents}"
    sep = "\u00a0" if lang in ("fr", "pl") else "."
    text = f"{sign}{whole.replace(',', sep)},{cents}"
    return f"{text} {sym or cur}"


def cell(text, style="P", cell_style="C"):
    paras = "".join(f'<text:p text:style-name="{style}">{e(t).replace(chr(9), "<text:tab/>")}</text:p>'
                    for t in str(text).split("\n"))
    return f'<table:table-cell table:style-name="{cell_style}" office:value-type="string">{paras}</table:table-cell>'


def table(name, widths_cm, rows, width_cm, align="left", first_style=None):
    cols = "".join(f'<table:table-column table:style-name="{name}.{i}"/>' for i in range(len(widths_cm)))
    col_styles = "".join(
        f'<style:style style:name="{name}.{i}" style:family="table-column">'
        f'<style:table-column-properties style:column-width="{w}cm"/></style:style>' for i, w in enumerate(widths_cm))
    tstyle = (f'<style:style style:name="{name}" style:family="table"><style:table-properties style:width="{width_cm}cm" '
              f'table:align="{align}"/></style:style>')
    body = "".join(f"<table:table-row>{''.join(r)}</table:table-row>" for r in rows)
    return tstyle + col_styles, f'<table:table table:name="{name}" table:style-name="{name}">{cols}{body}</table:table>'


def invoice_fodt(f, lines, lang, L):
    M = MORE[lang]
    cur = f.get("currency", "")
    styles, body = [], []

    def add(pair):
        styles.append(pair[0])
        body.append(pair[1])

    # Letterhead left, title right.
    add(table("Head", [9.0, 8.0], [[cell(f.get("seller_name", ""), "Big"), cell(L["title"], "Title")]], 17.0))
    body.append('<text:p text:style-name="P"/>')
    particulars = [(L["number"], f.get("invoice_number")), (L["date"], day(f.get("issue_date"), lang)),
                   (L["due"], day(f.get("due_date"), lang)), (L["order"], f.get("purchase_order"))]
    particulars = "\n".join(f"{k}:\t{v}" for k, v in particulars if v)
    buyer = f"{L['buyer']}\n{f.get('buyer_name', '')}"
    if f.get("buyer_vat_id"):
        buyer += f"\n{L['vat']} {f['buyer_vat_id']}"
    # The particulars as label<TAB>value paragraphs in one cell, as Writer's templates type them.
    add(table("Addr", [9.0, 8.0], [[cell(buyer), cell(particulars, "Tabbed")]], 17.0))
    body.append('<text:p text:style-name="P"/>')
    rows = [[cell(L["item"], "H", "HC"), cell(L["qty"], "HR", "HC"), cell(L["price"], "HR", "HC"),
             cell(L["amount"], "HR", "HC")]]
    for l in lines[:25]:
        rows.append([cell((l.get("item_name") or "")[:60], "P", "B"), cell(l.get("quantity") or "", "R", "B"),
                     cell(money(l.get("unit_price"), cur, lang), "R", "B"), cell(money(l.get("net_amount"), cur, lang), "R", "B")])
    add(table("Items", [9.0, 2.0, 3.0, 3.0], rows, 17.0))
    body.append('<text:p text:style-name="P"/>')
    totals = [(L["net"], f.get("total_net")), (L["tax"], f.get("total_tax")), (L["total"], f.get("total")),
              (L["payable"], f.get("amount_due"))]
    add(table("Totals", [4.5, 3.5], [[cell(k, "Bold" if k == L["total"] else "P"), cell(money(v, cur, lang), "R")]
                                     for k, v in totals if v], 8.0, "right"))
    foot = []
    if f.get("iban"):
        foot.append(f"{M['page']}: IBAN {' '.join(f['iban'][i:i + 4] for i in range(0, len(f['iban']), 4))}"
                    + (f" · BIC {f['bic']}" if f.get("bic") else ""))
    if f.get("seller_vat_id"):
        foot.append(f"{f.get('seller_name', '')} · {L['vat']} {f['seller_vat_id']}")
    footer = "".join(f'<text:p text:style-name="Foot">{e(x)}</text:p>' for x in foot)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"
 office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.text">
<office:font-face-decls><style:font-face style:name="Liberation Sans" svg:font-family="'Liberation Sans'" xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"/></office:font-face-decls>
<office:styles>
<style:style style:name="Standard" style:family="paragraph"><style:text-properties style:font-name="Liberation Sans" fo:font-size="10pt" fo:language="{lang}"/></style:style>
</office:styles>
<office:automatic-styles>
<style:style style:name="P" style:family="paragraph" style:parent-style-name="Standard"/>
<style:style style:name="R" style:family="paragraph" style:parent-style-name="Standard"><style:paragraph-properties fo:text-align="end"/></style:style>
<style:style style:name="H" style:family="paragraph" style:parent-style-name="Standard"><style:text-properties fo:font-weight="bold"/></style:style>
<style:style style:name="HR" style:family="paragraph" style:parent-style-name="Standard"><style:paragraph-properties fo:text-align="end"/><style:text-properties fo:font-weight="bold"/></style:style>
<style:style style:name="Bold" style:family="paragraph" style:parent-style-name="Standard"><style:text-properties fo:font-weight="bold"/></style:style>
<style:style style:name="Big" style:family="paragraph" style:parent-style-name="Standard"><style:text-properties fo:font-size="14pt" fo:font-weight="bold"/></style:style>
<style:style style:name="Title" style:family="paragraph" style:parent-style-name="Standard"><style:paragraph-properties fo:text-align="end"/><style:text-properties fo:font-size="22pt" fo:color="#1f4e79"/></style:style>
<style:style style:name="Tabbed" style:family="paragraph" style:parent-style-name="Standard"><style:paragraph-properties><style:tab-stops><style:tab-stop style:position="4cm"/></style:tab-stops></style:paragraph-properties></style:style>
<style:style style:name="Foot" style:family="paragraph" style:parent-style-name="Standard"><style:paragraph-properties fo:text-align="center"/><style:text-properties fo:font-size="8pt" fo:color="#555555"/></style:style>
<style:style style:name="C" style:family="table-cell"><style:table-cell-properties fo:padding="0.1cm" fo:border="none"/></style:style>
<style:style style:name="B" style:family="table-cell"><style:table-cell-properties fo:padding="0.1cm" fo:border="0.5pt solid #999999"/></style:style>
<style:style style:name="HC" style:family="table-cell"><style:table-cell-properties fo:padding="0.1cm" fo:background-color="#dddddd" fo:border="0.5pt solid #999999"/></style:style>
{''.join(styles)}
</office:automatic-styles>
<office:body><office:text>{''.join(body)}<text:p text:style-name="P"/>{footer}</office:text></office:body>
</office:document>"""
