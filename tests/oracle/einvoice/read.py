"""An independent reading of e-invoices: lxml and XPath, as a Python shop would write it, mapping
CII (D16B and ZUGFeRD 1.0) and UBL 2.1 to the EN 16931 field names clerk uses. The oracle for
tests/einvoice_oracle.rs: one JSON object per file on stdout, `{"file": …, "fields": {…}}`.

    read.py FILE...
"""
import json
import sys
from decimal import Decimal

from lxml import etree

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    "zf": "urn:ferd:CrossIndustryDocument:invoice:1p0",
    "zram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:12",
    "zudt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:15",
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cn": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
CREDIT_NOTES = {"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532"}


def text(node, path):
    found = node.xpath(path, namespaces=NS)
    if not found:
        return None
    el = found[0]
    value = el if isinstance(el, str) else "".join(el.itertext())
    value = value.strip()
    return value or None


def amount(value):
    if value is None:
        return None
    d = Decimal(value)
    if d.as_tuple().exponent > -2:
        d = d.quantize(Decimal("0.01"))
    return str(d)


def number(value):
    if value is None:
        return None
    d = Decimal(value).normalize()
    return format(d, "f")


def put(fields, key, value):
    if value is not None and value.strip() != "":
        fields[key] = value.strip()


def cii(root, zugferd1):
    # The two versions of CII differ in a handful of names.
    r = "zram" if zugferd1 else "ram"
    ctx = "zf:SpecifiedExchangedDocumentContext" if zugferd1 else "rsm:ExchangedDocumentContext"
    hdr = "zf:HeaderExchangedDocument" if zugferd1 else "rsm:ExchangedDocument"
    trx = "zf:SpecifiedSupplyChainTradeTransaction" if zugferd1 else "rsm:SupplyChainTradeTransaction"
    agr = f"{trx}/{r}:ApplicableSupplyChainTradeAgreement" if zugferd1 else f"{trx}/{r}:ApplicableHeaderTradeAgreement"
    stl = f"{trx}/{r}:ApplicableSupplyChainTradeSettlement" if zugferd1 else f"{trx}/{r}:ApplicableHeaderTradeSettlement"
    summ = f"{stl}/{r}:SpecifiedTradeSettlementMonetarySummation" if zugferd1 else f"{stl}/{r}:SpecifiedTradeSettlementHeaderMonetarySummation"
    rate = "ApplicablePercent" if zugferd1 else "RateApplicablePercent"
    f = {"syntax": "ZUGFeRD 1.0" if zugferd1 else "CII"}
    put(f, "profile", text(root, f"{ctx}/{r}:GuidelineSpecifiedDocumentContextParameter/{r}:ID"))
    put(f, "invoice_number", text(root, f"{hdr}/{r}:ID"))
    put(f, "type_code", text(root, f"{hdr}/{r}:TypeCode"))

    def date(path):
        v = text(root, path)
        return f"{v[:4]}-{v[4:6]}-{v[6:8]}" if v else None

    udt = "zudt" if zugferd1 else "udt"
    put(f, "issue_date", date(f"{hdr}/{r}:IssueDateTime/{udt}:DateTimeString"))
    put(f, "due_date", date(f"{stl}/{r}:SpecifiedTradePaymentTerms[1]/{r}:DueDateDateTime/{udt}:DateTimeString"))
    put(f, "currency", text(root, f"{stl}/{r}:InvoiceCurrencyCode"))
    put(f, "buyer_reference", text(root, f"{agr}/{r}:BuyerReference"))
    order = f"{agr}/{r}:BuyerOrderReferencedDocument/{r}:ID" if zugferd1 else f"{agr}/{r}:BuyerOrderReferencedDocument/{r}:IssuerAssignedID"
    put(f, "purchase_order", text(root, order))
    for role, party in (("seller", "SellerTradeParty"), ("buyer", "BuyerTradeParty")):
        p = f"{agr}/{r}:{party}"
        put(f, f"{role}_name", text(root, f"{p}/{r}:Name"))
        put(f, f"{role}_vat_id", text(root, f"{p}/{r}:SpecifiedTaxRegistration/{r}:ID[@schemeID='VA']"))
        if role == "seller":
            put(f, "seller_tax_number", text(root, f"{p}/{r}:SpecifiedTaxRegistration/{r}:ID[@schemeID='FC']"))
        put(f, f"{role}_country", text(root, f"{p}/{r}:PostalTradeAddress/{r}:CountryID"))
    means = root.xpath(f"{stl}/{r}:SpecifiedTradeSettlementPaymentMeans[{r}:PayeePartyCreditorFinancialAccount/{r}:IBANID]", namespaces=NS)
    if means:
        iban = text(means[0], f"{r}:PayeePartyCreditorFinancialAccount/{r}:IBANID")
        put(f, "iban", iban.replace(" ", "") if iban else None)
        put(f, "bic", text(means[0], f"{r}:PayeeSpecifiedCreditorFinancialInstitution/{r}:BICID"))
    put(f, "payment_reference", text(root, f"{stl}/{r}:PaymentReference"))
    put(f, "line_total", amount(text(root, f"{summ}/{r}:LineTotalAmount")))
    put(f, "total_net", amount(text(root, f"{summ}/{r}:TaxBasisTotalAmount")))
    cur = f.get("currency")
    tax = text(root, f"{summ}/{r}:TaxTotalAmount[@currencyID='{cur}' or not(@currencyID)]") or text(root, f"{summ}/{r}:TaxTotalAmount")
    put(f, "total_tax", amount(tax))
    put(f, "total", amount(text(root, f"{summ}/{r}:GrandTotalAmount")))
    put(f, "prepaid", amount(text(root, f"{summ}/{r}:TotalPrepaidAmount")))
    put(f, "amount_due", amount(text(root, f"{summ}/{r}:DuePayableAmount")))
    lines = []
    for item in root.xpath(f"{trx}/{r}:IncludedSupplyChainTradeLineItem", namespaces=NS):
        agreement = f"{r}:SpecifiedSupplyChainTradeAgreement" if zugferd1 else f"{r}:SpecifiedLineTradeAgreement"
        delivery = f"{r}:SpecifiedSupplyChainTradeDelivery" if zugferd1 else f"{r}:SpecifiedLineTradeDelivery"
        settle = f"{r}:SpecifiedSupplyChainTradeSettlement" if zugferd1 else f"{r}:SpecifiedLineTradeSettlement"
        lsum = f"{r}:SpecifiedTradeSettlementMonetarySummation" if zugferd1 else f"{r}:SpecifiedTradeSettlementLineMonetarySummation"
        line = {}
        put(line, "position", text(item, f"{r}:AssociatedDocumentLineDocument/{r}:LineID"))
        put(line, "item_id", text(item, f"{r}:SpecifiedTradeProduct/{r}:SellerAssignedID") or text(item, f"{r}:SpecifiedTradeProduct/{r}:GlobalID"))
        put(line, "item_name", text(item, f"{r}:SpecifiedTradeProduct/{r}:Name"))
        put(line, "quantity", number(text(item, f"{delivery}/{r}:BilledQuantity")))
        put(line, "unit", text(item, f"{delivery}/{r}:BilledQuantity/@unitCode"))
        put(line, "unit_price", amount(text(item, f"{agreement}/{r}:NetPriceProductTradePrice/{r}:ChargeAmount")))
        base = number(text(item, f"{agreement}/{r}:NetPriceProductTradePrice/{r}:BasisQuantity"))
        if base is not None and Decimal(base) != 1:
            line["price_base_quantity"] = base
        put(line, "net_amount", amount(text(item, f"{settle}/{lsum}/{r}:LineTotalAmount")))
        put(line, "tax_category", text(item, f"{settle}/{r}:ApplicableTradeTax/{r}:CategoryCode"))
        put(line, "tax_rate", number(text(item, f"{settle}/{r}:ApplicableTradeTax/{r}:{rate}")))
        lines.append(line)
    f["lines"] = lines
    taxes = []
    for t in root.xpath(f"{stl}/{r}:ApplicableTradeTax", namespaces=NS):
        x = {}
        put(x, "category", text(t, f"{r}:CategoryCode"))
        put(x, "rate", number(text(t, f"{r}:{rate}")))
        put(x, "basis", amount(text(t, f"{r}:BasisAmount")))
        put(x, "amount", amount(text(t, f"{r}:CalculatedAmount")))
        taxes.append(x)
    f["taxes"] = taxes
    f["credit_note"] = f.get("type_code") in CREDIT_NOTES
    return f


def ubl(root, credit_note):
    f = {"syntax": "UBL"}
    put(f, "profile", text(root, "cbc:CustomizationID"))
    put(f, "invoice_number", text(root, "cbc:ID"))
    type_code = text(root, "cbc:CreditNoteTypeCode" if credit_note else "cbc:InvoiceTypeCode")
    if type_code is None and credit_note:
        type_code = "381"
    put(f, "type_code", type_code)
    put(f, "issue_date", text(root, "cbc:IssueDate"))
    put(f, "due_date", text(root, "cbc:DueDate") or text(root, "cac:PaymentMeans/cbc:PaymentDueDate"))
    put(f, "currency", text(root, "cbc:DocumentCurrencyCode"))
    put(f, "buyer_reference", text(root, "cbc:BuyerReference"))
    put(f, "purchase_order", text(root, "cac:OrderReference/cbc:ID"))
    for role, party in (("seller", "cac:AccountingSupplierParty/cac:Party"), ("buyer", "cac:AccountingCustomerParty/cac:Party")):
        put(f, f"{role}_name", text(root, f"{party}/cac:PartyLegalEntity/cbc:RegistrationName") or text(root, f"{party}/cac:PartyName/cbc:Name"))
        put(f, f"{role}_vat_id", text(root, f"{party}/cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID"))
        if role == "seller":
            put(f, "seller_tax_number", text(root, f"{party}/cac:PartyTaxScheme[not(cac:TaxScheme/cbc:ID='VAT')]/cbc:CompanyID"))
        put(f, f"{role}_country", text(root, f"{party}/cac:PostalAddress/cac:Country/cbc:IdentificationCode"))
    means = root.xpath("cac:PaymentMeans[cac:PayeeFinancialAccount/cbc:ID]", namespaces=NS)
    if means:
        iban = text(means[0], "cac:PayeeFinancialAccount/cbc:ID")
        put(f, "iban", iban.replace(" ", "") if iban else None)
        put(f, "bic", text(means[0], "cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID"))
    put(f, "payment_reference", text(root, "cac:PaymentMeans/cbc:PaymentID"))
    m = "cac:LegalMonetaryTotal"
    put(f, "line_total", amount(text(root, f"{m}/cbc:LineExtensionAmount")))
    put(f, "total_net", amount(text(root, f"{m}/cbc:TaxExclusiveAmount")))
    cur = f.get("currency")
    tt = root.xpath(f"cac:TaxTotal[cbc:TaxAmount/@currencyID='{cur}' or not(cbc:TaxAmount/@currencyID)]", namespaces=NS) or root.xpath("cac:TaxTotal", namespaces=NS)
    if tt:
        put(f, "total_tax", amount(text(tt[0], "cbc:TaxAmount")))
    put(f, "total", amount(text(root, f"{m}/cbc:TaxInclusiveAmount")))
    put(f, "prepaid", amount(text(root, f"{m}/cbc:PrepaidAmount")))
    put(f, "amount_due", amount(text(root, f"{m}/cbc:PayableAmount")))
    lines = []
    for item in root.xpath("cac:InvoiceLine | cac:CreditNoteLine", namespaces=NS):
        line = {}
        qty = "cbc:CreditedQuantity" if credit_note else "cbc:InvoicedQuantity"
        put(line, "position", text(item, "cbc:ID"))
        put(line, "item_id", text(item, "cac:Item/cac:SellersItemIdentification/cbc:ID") or text(item, "cac:Item/cac:StandardItemIdentification/cbc:ID"))
        put(line, "item_name", text(item, "cac:Item/cbc:Name"))
        put(line, "quantity", number(text(item, qty)))
        put(line, "unit", text(item, f"{qty}/@unitCode"))
        put(line, "unit_price", amount(text(item, "cac:Price/cbc:PriceAmount")))
        base = number(text(item, "cac:Price/cbc:BaseQuantity"))
        if base is not None and Decimal(base) != 1:
            line["price_base_quantity"] = base
        put(line, "net_amount", amount(text(item, "cbc:LineExtensionAmount")))
        put(line, "tax_category", text(item, "cac:Item/cac:ClassifiedTaxCategory/cbc:ID"))
        put(line, "tax_rate", number(text(item, "cac:Item/cac:ClassifiedTaxCategory/cbc:Percent")))
        lines.append(line)
    f["lines"] = lines
    taxes = []
    for t in (tt[0].xpath("cac:TaxSubtotal", namespaces=NS) if tt else []):
        x = {}
        put(x, "category", text(t, "cac:TaxCategory/cbc:ID"))
        put(x, "rate", number(text(t, "cac:TaxCategory/cbc:Percent")))
        put(x, "basis", amount(text(t, "cbc:TaxableAmount")))
        put(x, "amount", amount(text(t, "cbc:TaxAmount")))
        taxes.append(x)
    f["taxes"] = taxes
    f["credit_note"] = f.get("type_code") in CREDIT_NOTES
    return f


def read(path):
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.parse(path, parser).getroot()
    q = etree.QName(root)
    if q.namespace == NS["rsm"] and q.localname == "CrossIndustryInvoice":
        return cii(root, False)
    if q.namespace == NS["zf"] and q.localname == "CrossIndustryDocument":
        return cii(root, True)
    if q.namespace == NS["inv"] and q.localname == "Invoice":
        return ubl(root, False)
    if q.namespace == NS["cn"] and q.localname == "CreditNote":
        return ubl(root, True)
    return None


if __name__ == "__main__":
    for path in sys.argv[1:]:
        print(json.dumps({"file": path, "fields": read(path)}, ensure_ascii=False))
