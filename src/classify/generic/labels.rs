//! The labels invoices print before their values, in English, German, French, Dutch, Spanish,
//! Italian, Portuguese and Polish, with their abbreviations. Matched on normalised words (lower
//! case, no accents, no punctuation: "Rechnungs-Nr.:" is `rechnungsnr`, "N°" is `no`), with one
//! letter of OCR damage allowed in long words.

use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Term {
    InvoiceNumber,
    /// A credit note's number, or its title: the document credits, it does not bill.
    CreditNote,
    IssueDate,
    DueDate,
    Total,
    TotalNet,
    TotalTax,
    AmountDue,
    PurchaseOrder,
    VatId,
    Bic,
    Iban,
    Currency,
    Seller,
    Buyer,
}

/// `{no}` stands for the number markers: no, nr, #, num, n.
const NO: &[&str] = &["no", "nr", "#", "num", "n", "nro", "numero", "number", "nummer", "numer"];

/// (term, phrase, strength): how surely the phrase labels that term. A bare "date" or "total"
/// labels less surely than "invoice date" or "total incl. VAT".
const LABELS: &[(Term, &str, f64)] = &[
    // invoice number
    (Term::InvoiceNumber, "invoice {no}", 1.0),
    (Term::InvoiceNumber, "invoice", 0.6),
    (Term::InvoiceNumber, "inv {no}", 1.0),
    (Term::InvoiceNumber, "inv#", 1.0),
    (Term::InvoiceNumber, "invoice#", 1.0),
    (Term::InvoiceNumber, "invoice id", 1.0),
    (Term::InvoiceNumber, "invoicenumber", 1.0),
    (Term::InvoiceNumber, "bill {no}", 0.9),
    (Term::InvoiceNumber, "document {no}", 0.7),
    (Term::InvoiceNumber, "rechnungsnummer", 1.0),
    (Term::InvoiceNumber, "rechnungsnr", 1.0),
    (Term::InvoiceNumber, "rechnung {no}", 1.0),
    (Term::InvoiceNumber, "rechnungs {no}", 1.0),
    (Term::InvoiceNumber, "renr", 0.9),
    (Term::InvoiceNumber, "re {no}", 0.8),
    (Term::InvoiceNumber, "rechnung", 0.6),
    (Term::InvoiceNumber, "belegnummer", 0.8),
    (Term::InvoiceNumber, "beleg {no}", 0.8),
    (Term::InvoiceNumber, "facture {no}", 1.0),
    (Term::InvoiceNumber, "{no} de facture", 1.0),
    (Term::InvoiceNumber, "{no} facture", 1.0),
    (Term::InvoiceNumber, "numero de facture", 1.0),
    (Term::InvoiceNumber, "facture", 0.6),
    (Term::InvoiceNumber, "factuurnummer", 1.0),
    (Term::InvoiceNumber, "factuurnr", 1.0),
    (Term::InvoiceNumber, "factuur {no}", 1.0),
    (Term::InvoiceNumber, "factuur", 0.6),
    (Term::InvoiceNumber, "factura {no}", 1.0),
    (Term::InvoiceNumber, "{no} de factura", 1.0),
    (Term::InvoiceNumber, "{no} factura", 1.0),
    (Term::InvoiceNumber, "numero de factura", 1.0),
    (Term::InvoiceNumber, "factura", 0.6),
    (Term::InvoiceNumber, "fattura {no}", 1.0),
    (Term::InvoiceNumber, "{no} fattura", 1.0),
    (Term::InvoiceNumber, "numero fattura", 1.0),
    (Term::InvoiceNumber, "fattura", 0.6),
    (Term::InvoiceNumber, "{no} documento", 0.7),
    (Term::InvoiceNumber, "fatura {no}", 1.0),
    (Term::InvoiceNumber, "{no} da fatura", 1.0),
    (Term::InvoiceNumber, "numero da fatura", 1.0),
    (Term::InvoiceNumber, "fatura", 0.6),
    (Term::InvoiceNumber, "faktura {no}", 1.0),
    (Term::InvoiceNumber, "faktura vat {no}", 1.0),
    (Term::InvoiceNumber, "{no} faktury", 1.0),
    (Term::InvoiceNumber, "numer faktury", 1.0),
    (Term::InvoiceNumber, "faktura vat", 0.6),
    (Term::InvoiceNumber, "faktura", 0.6),
    // credit notes: their number's label, or the title alone (0.6: a value beside is a guess)
    (Term::CreditNote, "credit note {no}", 1.0),
    (Term::CreditNote, "credit memo {no}", 1.0),
    (Term::CreditNote, "credit note", 0.6),
    (Term::CreditNote, "credit memo", 0.6),
    (Term::CreditNote, "gutschrift {no}", 1.0),
    (Term::CreditNote, "gutschriftsnummer", 1.0),
    (Term::CreditNote, "gutschriftsnr", 1.0),
    (Term::CreditNote, "gutschrift", 0.6),
    (Term::CreditNote, "rechnungskorrektur {no}", 1.0),
    (Term::CreditNote, "rechnungskorrektur", 0.6),
    (Term::CreditNote, "avoir {no}", 1.0),
    (Term::CreditNote, "{no} d avoir", 1.0),
    (Term::CreditNote, "{no} avoir", 1.0),
    (Term::CreditNote, "facture d avoir", 0.6),
    (Term::CreditNote, "avoir", 0.6),
    (Term::CreditNote, "creditnota {no}", 1.0),
    (Term::CreditNote, "creditnotanummer", 1.0),
    (Term::CreditNote, "creditnota", 0.6),
    (Term::CreditNote, "creditfactuur {no}", 1.0),
    (Term::CreditNote, "creditfactuur", 0.6),
    (Term::CreditNote, "nota de credito {no}", 1.0),
    (Term::CreditNote, "{no} nota de credito", 1.0),
    (Term::CreditNote, "nota de credito", 0.6),
    (Term::CreditNote, "factura rectificativa {no}", 1.0),
    (Term::CreditNote, "factura rectificativa", 0.6),
    (Term::CreditNote, "nota di credito {no}", 1.0),
    (Term::CreditNote, "nota di credito", 0.6),
    (Term::CreditNote, "nota credito {no}", 1.0),
    (Term::CreditNote, "faktura korygujaca {no}", 1.0),
    (Term::CreditNote, "{no} faktury korygujacej", 1.0),
    (Term::CreditNote, "faktura korygujaca", 0.6),
    // issue date
    (Term::IssueDate, "invoice date", 1.0),
    (Term::IssueDate, "date of issue", 1.0),
    (Term::IssueDate, "issue date", 1.0),
    (Term::IssueDate, "date of invoice", 1.0),
    (Term::IssueDate, "billing date", 0.9),
    (Term::IssueDate, "date", 0.6),
    (Term::IssueDate, "dated", 0.6),
    (Term::IssueDate, "rechnungsdatum", 1.0),
    (Term::IssueDate, "ausstellungsdatum", 1.0),
    (Term::IssueDate, "belegdatum", 0.9),
    (Term::IssueDate, "datum", 0.6),
    (Term::IssueDate, "date de facture", 1.0),
    (Term::IssueDate, "date de facturation", 1.0),
    (Term::IssueDate, "date facture", 1.0),
    (Term::IssueDate, "date d emission", 1.0),
    (Term::IssueDate, "factuurdatum", 1.0),
    (Term::IssueDate, "fecha de factura", 1.0),
    (Term::IssueDate, "fecha factura", 1.0),
    (Term::IssueDate, "fecha de emision", 1.0),
    (Term::IssueDate, "fecha de expedicion", 1.0),
    (Term::IssueDate, "fecha", 0.6),
    (Term::IssueDate, "data fattura", 1.0),
    (Term::IssueDate, "data documento", 0.9),
    (Term::IssueDate, "data emissione", 1.0),
    (Term::IssueDate, "data di emissione", 1.0),
    (Term::IssueDate, "data da fatura", 1.0),
    (Term::IssueDate, "data de emissao", 1.0),
    (Term::IssueDate, "data fatura", 1.0),
    (Term::IssueDate, "data wystawienia", 1.0),
    (Term::IssueDate, "data faktury", 1.0),
    (Term::IssueDate, "data", 0.6),
    // due date
    (Term::DueDate, "due date", 1.0),
    (Term::DueDate, "payment due", 0.9),
    (Term::DueDate, "due", 0.7),
    (Term::DueDate, "pay by", 0.9),
    (Term::DueDate, "payable by", 0.9),
    (Term::DueDate, "payment date", 0.8),
    (Term::DueDate, "falligkeitsdatum", 1.0),
    (Term::DueDate, "fallig am", 1.0),
    (Term::DueDate, "fallig", 0.9),
    (Term::DueDate, "zahlbar bis", 1.0),
    (Term::DueDate, "zahlungsziel", 0.8),
    (Term::DueDate, "date d echeance", 1.0),
    (Term::DueDate, "echeance", 0.9),
    (Term::DueDate, "a payer avant le", 1.0),
    (Term::DueDate, "date limite de paiement", 1.0),
    (Term::DueDate, "vervaldatum", 1.0),
    (Term::DueDate, "uiterste betaaldatum", 1.0),
    (Term::DueDate, "te betalen voor", 1.0),
    (Term::DueDate, "fecha de vencimiento", 1.0),
    (Term::DueDate, "fecha vencimiento", 1.0),
    (Term::DueDate, "vencimiento", 0.9),
    (Term::DueDate, "data scadenza", 1.0),
    (Term::DueDate, "data di scadenza", 1.0),
    (Term::DueDate, "scadenza", 0.9),
    (Term::DueDate, "data de vencimento", 1.0),
    (Term::DueDate, "data vencimento", 1.0),
    (Term::DueDate, "vencimento", 0.9),
    (Term::DueDate, "termin platnosci", 1.0),
    (Term::DueDate, "termin zaplaty", 1.0),
    // gross total
    (Term::Total, "total", 0.7),
    (Term::Total, "invoice total", 1.0),
    // With nothing prepaid, what is due is the total (a prepayment is checked against it).
    (Term::Total, "total due", 0.9),
    (Term::Total, "amount due", 0.8),
    (Term::Total, "total amount", 0.9),
    (Term::Total, "grand total", 1.0),
    (Term::Total, "total incl vat", 1.0),
    (Term::Total, "total including vat", 1.0),
    (Term::Total, "total gross", 1.0),
    (Term::Total, "gross amount", 0.9),
    (Term::Total, "gross total", 1.0),
    (Term::Total, "gesamtbetrag", 0.9),
    (Term::Total, "gesamtbetrag brutto", 1.0),
    (Term::Total, "rechnungsbetrag", 1.0),
    (Term::Total, "rechnungsbetrag brutto", 1.0),
    (Term::Total, "bruttobetrag", 1.0),
    (Term::Total, "brutto", 0.7),
    (Term::Total, "gesamtsumme", 0.9),
    (Term::Total, "endbetrag", 0.9),
    (Term::Total, "summe", 0.6),
    (Term::Total, "gesamt", 0.6),
    (Term::Total, "total ttc", 1.0),
    (Term::Total, "montant ttc", 1.0),
    (Term::Total, "montant total", 0.9),
    (Term::Total, "totaal", 0.7),
    (Term::Total, "totaalbedrag", 0.9),
    (Term::Total, "totaal incl btw", 1.0),
    (Term::Total, "totaal inclusief btw", 1.0),
    (Term::Total, "importe total", 0.9),
    (Term::Total, "total factura", 1.0),
    (Term::Total, "totale", 0.7),
    (Term::Total, "totale fattura", 1.0),
    (Term::Total, "totale documento", 1.0),
    (Term::Total, "importo totale", 0.9),
    (Term::Total, "valor total", 0.9),
    (Term::Total, "total da fatura", 1.0),
    (Term::Total, "razem", 0.7),
    (Term::Total, "razem brutto", 1.0),
    (Term::Total, "wartosc brutto", 1.0),
    (Term::Total, "ogolem", 0.7),
    // net total
    (Term::TotalNet, "subtotal", 0.9),
    (Term::TotalNet, "sub total", 0.9),
    (Term::TotalNet, "net amount", 0.9),
    (Term::TotalNet, "total net", 1.0),
    (Term::TotalNet, "net total", 1.0),
    (Term::TotalNet, "total excl vat", 1.0),
    (Term::TotalNet, "total excluding vat", 1.0),
    (Term::TotalNet, "total without vat", 1.0),
    (Term::TotalNet, "net", 0.6),
    (Term::TotalNet, "nettobetrag", 1.0),
    (Term::TotalNet, "netto", 0.7),
    (Term::TotalNet, "summe netto", 1.0),
    (Term::TotalNet, "gesamtbetrag netto", 1.0),
    (Term::TotalNet, "zwischensumme", 0.9),
    (Term::TotalNet, "warenwert", 0.8),
    (Term::TotalNet, "total ht", 1.0),
    (Term::TotalNet, "montant ht", 1.0),
    (Term::TotalNet, "total hors taxes", 1.0),
    (Term::TotalNet, "sous total", 0.9),
    (Term::TotalNet, "subtotaal", 0.9),
    (Term::TotalNet, "totaal excl btw", 1.0),
    (Term::TotalNet, "totaal exclusief btw", 1.0),
    (Term::TotalNet, "base imponible", 1.0),
    (Term::TotalNet, "importe neto", 1.0),
    (Term::TotalNet, "total neto", 1.0),
    (Term::TotalNet, "imponibile", 1.0),
    (Term::TotalNet, "totale imponibile", 1.0),
    (Term::TotalNet, "subtotale", 0.9),
    (Term::TotalNet, "valor liquido", 1.0),
    (Term::TotalNet, "total liquido", 1.0),
    (Term::TotalNet, "total sem iva", 1.0),
    (Term::TotalNet, "base tributavel", 1.0),
    (Term::TotalNet, "wartosc netto", 1.0),
    (Term::TotalNet, "razem netto", 1.0),
    (Term::TotalNet, "suma netto", 1.0),
    // tax total
    (Term::TotalTax, "vat", 0.7),
    (Term::TotalTax, "total vat", 1.0),
    (Term::TotalTax, "vat amount", 1.0),
    (Term::TotalTax, "vat total", 1.0),
    (Term::TotalTax, "tax", 0.6),
    (Term::TotalTax, "total tax", 1.0),
    (Term::TotalTax, "tax amount", 0.9),
    (Term::TotalTax, "sales tax", 0.9),
    (Term::TotalTax, "mwst", 0.8),
    (Term::TotalTax, "ust", 0.8),
    (Term::TotalTax, "umsatzsteuer", 0.8),
    (Term::TotalTax, "mehrwertsteuer", 0.8),
    (Term::TotalTax, "steuerbetrag", 1.0),
    (Term::TotalTax, "summe ust", 1.0),
    (Term::TotalTax, "tva", 0.7),
    (Term::TotalTax, "montant tva", 1.0),
    (Term::TotalTax, "total tva", 1.0),
    (Term::TotalTax, "btw", 0.7),
    (Term::TotalTax, "btw bedrag", 1.0),
    (Term::TotalTax, "totaal btw", 1.0),
    (Term::TotalTax, "iva", 0.7),
    (Term::TotalTax, "cuota iva", 1.0),
    (Term::TotalTax, "total iva", 1.0),
    (Term::TotalTax, "importe iva", 1.0),
    (Term::TotalTax, "totale iva", 1.0),
    (Term::TotalTax, "imposta", 0.8),
    (Term::TotalTax, "valor iva", 1.0),
    (Term::TotalTax, "kwota vat", 1.0),
    (Term::TotalTax, "podatek vat", 1.0),
    (Term::TotalTax, "wartosc vat", 1.0),
    // amount due
    (Term::AmountDue, "amount due", 1.0),
    (Term::AmountDue, "balance due", 1.0),
    (Term::AmountDue, "total due", 1.0),
    (Term::AmountDue, "amount payable", 1.0),
    (Term::AmountDue, "please pay", 0.9),
    (Term::AmountDue, "to pay", 0.8),
    (Term::AmountDue, "zahlbetrag", 1.0),
    (Term::AmountDue, "zu zahlen", 1.0),
    (Term::AmountDue, "zu zahlender betrag", 1.0),
    (Term::AmountDue, "offener betrag", 1.0),
    (Term::AmountDue, "falliger betrag", 1.0),
    (Term::AmountDue, "net a payer", 1.0),
    (Term::AmountDue, "montant a payer", 1.0),
    (Term::AmountDue, "reste a payer", 1.0),
    (Term::AmountDue, "a payer", 0.8),
    (Term::AmountDue, "te betalen", 1.0),
    (Term::AmountDue, "totaal te betalen", 1.0),
    (Term::AmountDue, "openstaand bedrag", 1.0),
    (Term::AmountDue, "total a pagar", 1.0),
    (Term::AmountDue, "importe a pagar", 1.0),
    (Term::AmountDue, "a pagar", 0.8),
    (Term::AmountDue, "totale da pagare", 1.0),
    (Term::AmountDue, "netto a pagare", 1.0),
    (Term::AmountDue, "importo dovuto", 1.0),
    (Term::AmountDue, "da pagare", 0.8),
    (Term::AmountDue, "valor a pagar", 1.0),
    (Term::AmountDue, "do zaplaty", 1.0),
    (Term::AmountDue, "kwota do zaplaty", 1.0),
    (Term::AmountDue, "pozostalo do zaplaty", 1.0),
    // purchase order
    (Term::PurchaseOrder, "purchase order", 1.0),
    (Term::PurchaseOrder, "purchase order {no}", 1.0),
    (Term::PurchaseOrder, "po {no}", 1.0),
    (Term::PurchaseOrder, "po", 0.7),
    (Term::PurchaseOrder, "order {no}", 0.9),
    (Term::PurchaseOrder, "your order", 0.9),
    (Term::PurchaseOrder, "order reference", 0.9),
    (Term::PurchaseOrder, "bestellnummer", 1.0),
    (Term::PurchaseOrder, "bestell {no}", 1.0),
    (Term::PurchaseOrder, "bestellnr", 1.0),
    (Term::PurchaseOrder, "ihre bestellung", 1.0),
    (Term::PurchaseOrder, "bestellung", 0.8),
    (Term::PurchaseOrder, "auftragsnummer", 0.8),
    (Term::PurchaseOrder, "bon de commande", 1.0),
    (Term::PurchaseOrder, "numero de commande", 1.0),
    (Term::PurchaseOrder, "votre commande", 1.0),
    (Term::PurchaseOrder, "commande", 0.8),
    (Term::PurchaseOrder, "bestelnummer", 1.0),
    (Term::PurchaseOrder, "ordernummer", 1.0),
    (Term::PurchaseOrder, "inkooporder", 1.0),
    (Term::PurchaseOrder, "uw bestelling", 1.0),
    (Term::PurchaseOrder, "numero de pedido", 1.0),
    (Term::PurchaseOrder, "orden de compra", 1.0),
    (Term::PurchaseOrder, "su pedido", 1.0),
    (Term::PurchaseOrder, "pedido", 0.8),
    (Term::PurchaseOrder, "numero ordine", 1.0),
    (Term::PurchaseOrder, "ordine d acquisto", 1.0),
    (Term::PurchaseOrder, "vs ordine", 1.0),
    (Term::PurchaseOrder, "rif ordine", 1.0),
    (Term::PurchaseOrder, "ordine", 0.8),
    (Term::PurchaseOrder, "nota de encomenda", 1.0),
    (Term::PurchaseOrder, "ordem de compra", 1.0),
    (Term::PurchaseOrder, "encomenda", 0.8),
    (Term::PurchaseOrder, "numer zamowienia", 1.0),
    (Term::PurchaseOrder, "{no} zamowienia", 1.0),
    (Term::PurchaseOrder, "zamowienie", 0.8),
    // VAT identifiers (which party's is decided by the party labels near them)
    (Term::VatId, "vat {no}", 1.0),
    (Term::VatId, "vat id", 1.0),
    (Term::VatId, "vat reg {no}", 1.0),
    (Term::VatId, "vat registration {no}", 1.0),
    (Term::VatId, "ust idnr", 1.0),
    (Term::VatId, "ustidnr", 1.0),
    (Term::VatId, "ust id", 1.0),
    (Term::VatId, "ustid", 1.0),
    (Term::VatId, "umsatzsteuer identifikationsnummer", 1.0),
    (Term::VatId, "umsatzsteueridentifikationsnummer", 1.0),
    (Term::VatId, "tva intracommunautaire", 1.0),
    (Term::VatId, "{no} tva", 1.0),
    (Term::VatId, "{no} de tva", 1.0),
    (Term::VatId, "btw {no}", 1.0),
    (Term::VatId, "btwnummer", 1.0),
    (Term::VatId, "btw id", 1.0),
    (Term::VatId, "nif", 0.9),
    (Term::VatId, "cif", 0.9),
    (Term::VatId, "nif iva", 1.0),
    (Term::VatId, "partita iva", 1.0),
    (Term::VatId, "p iva", 1.0),
    (Term::VatId, "piva", 1.0),
    (Term::VatId, "nipc", 0.9),
    (Term::VatId, "nip", 0.9),
    (Term::Bic, "bic", 1.0),
    (Term::Bic, "swift", 1.0),
    (Term::Bic, "bic swift", 1.0),
    (Term::Bic, "swift bic", 1.0),
    (Term::Iban, "iban", 1.0),
    // currency
    (Term::Currency, "currency", 1.0),
    (Term::Currency, "invoice currency", 1.0),
    (Term::Currency, "wahrung", 1.0),
    (Term::Currency, "rechnungswahrung", 1.0),
    (Term::Currency, "devise", 1.0),
    (Term::Currency, "monnaie", 1.0),
    (Term::Currency, "valuta", 1.0),
    (Term::Currency, "munteenheid", 1.0),
    (Term::Currency, "moneda", 1.0),
    (Term::Currency, "divisa", 1.0),
    (Term::Currency, "moeda", 1.0),
    (Term::Currency, "waluta", 1.0),
    // parties
    (Term::Seller, "seller", 1.0),
    (Term::Seller, "supplier", 1.0),
    (Term::Seller, "vendor", 1.0),
    (Term::Seller, "from", 0.6),
    (Term::Seller, "verkaufer", 1.0),
    (Term::Seller, "lieferant", 1.0),
    (Term::Seller, "rechnungssteller", 1.0),
    (Term::Seller, "fournisseur", 1.0),
    (Term::Seller, "vendeur", 1.0),
    (Term::Seller, "emetteur", 1.0),
    (Term::Seller, "leverancier", 1.0),
    (Term::Seller, "verkoper", 1.0),
    (Term::Seller, "proveedor", 1.0),
    (Term::Seller, "vendedor", 1.0),
    (Term::Seller, "emisor", 1.0),
    (Term::Seller, "fornitore", 1.0),
    (Term::Seller, "cedente", 1.0),
    (Term::Seller, "fornecedor", 1.0),
    (Term::Seller, "sprzedawca", 1.0),
    (Term::Buyer, "buyer", 1.0),
    (Term::Buyer, "customer", 1.0),
    (Term::Buyer, "bill to", 1.0),
    (Term::Buyer, "billed to", 1.0),
    (Term::Buyer, "invoice to", 1.0),
    (Term::Buyer, "client", 1.0),
    (Term::Buyer, "kaufer", 1.0),
    (Term::Buyer, "kunde", 1.0),
    (Term::Buyer, "rechnungsempfanger", 1.0),
    (Term::Buyer, "auftraggeber", 0.8),
    (Term::Buyer, "acheteur", 1.0),
    (Term::Buyer, "destinataire", 1.0),
    (Term::Buyer, "klant", 1.0),
    (Term::Buyer, "koper", 1.0),
    (Term::Buyer, "afnemer", 1.0),
    (Term::Buyer, "cliente", 1.0),
    (Term::Buyer, "comprador", 1.0),
    (Term::Buyer, "destinatario", 1.0),
    (Term::Buyer, "cessionario", 1.0),
    (Term::Buyer, "adquirente", 1.0),
    (Term::Buyer, "nabywca", 1.0),
];

/// A word as labels are written here.
pub fn normalise_word(word: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let mut out = String::new();
    for c in word.nfd() {
        match c {
            'ß' => out.push_str("ss"),
            'ł' | 'Ł' => out.push('l'),
            '°' | 'º' => out.push('o'),
            '#' => out.push('#'),
            c if c.is_alphanumeric() && c.is_ascii() => out.push(c.to_ascii_lowercase()),
            c if c.is_alphabetic() => out.extend(c.to_lowercase()),
            _ => {}
        }
    }
    out
}

/// The normalised words of a text (a word that normalises to nothing is dropped).
pub fn words(text: &str) -> Vec<String> {
    // "d'échéance" is two words, as "n.º" is.
    text.split(|c: char| c.is_whitespace() || matches!(c, '/' | '-' | '.' | ':' | '(' | ')' | '\'' | '’'))
        .map(normalise_word)
        .filter(|w| !w.is_empty())
        .collect()
}

fn phrases() -> &'static Vec<(Term, Vec<String>, f64)> {
    static ALL: OnceLock<Vec<(Term, Vec<String>, f64)>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut all = vec![];
        for &(term, phrase, strength) in LABELS {
            let mut variants: Vec<Vec<String>> = vec![vec![]];
            for w in phrase.split(' ') {
                let options: Vec<String> =
                    if w == "{no}" { NO.iter().map(|s| s.to_string()).collect() } else { vec![w.to_string()] };
                variants = variants
                    .into_iter()
                    .flat_map(|v| options.iter().map(move |o| [v.clone(), vec![o.clone()]].concat()))
                    .collect();
            }
            all.extend(variants.into_iter().map(|v| (term, v, strength)));
        }
        // Longest first: "total incl vat" before "total".
        all.sort_by(|a, b| b.1.len().cmp(&a.1.len()));
        all
    })
}

/// Whether `word` is `label` with at most one letter changed, added or dropped (OCR damage);
/// only for words of 7 letters or more, where one letter does not make another label.
fn close(word: &str, label: &str) -> bool {
    if word == label {
        return true;
    }
    // Cheap refusals first: this runs for every cell against every label.
    if label.len() < 7 || word.len().abs_diff(label.len()) > 3 {
        return false;
    }
    // OCR reads "m" as "rn" often enough to forgive it besides one other letter.
    if word.contains("rn") && !label.contains("rn") && word.len() > label.len() {
        return close(&word.replace("rn", "m"), label);
    }
    let (a, b): (Vec<char>, Vec<char>) = (word.chars().collect(), label.chars().collect());
    b.len() >= 7 && one_edit(&a, &b)
}

/// Whether `a` is `b` with at most one letter changed, added or dropped.
pub(super) fn one_edit(a: &[char], b: &[char]) -> bool {
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let (mut i, mut j, mut edits) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            i += 1;
            j += 1;
            continue;
        }
        edits += 1;
        if edits > 1 {
            return false;
        }
        match a.len().cmp(&b.len()) {
            std::cmp::Ordering::Greater => i += 1,
            std::cmp::Ordering::Less => j += 1,
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
            }
        }
    }
    edits + (a.len() - i) + (b.len() - j) <= 1
}

/// A label found at the start of a cell: its term, how surely, and how many of the cell's
/// normalised words it took.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Found {
    pub term: Term,
    pub strength: f64,
    pub words: usize,
}

/// The labels that start `cell_words`: the longest phrase wins ("Invoice date" is a date's
/// label, not the invoice number's "Invoice"); phrases of the same length all count. A total's
/// label followed by a net or gross qualifier ("Gesamtsumme netto", "Total HT") is the net
/// total's or the gross total's, whatever the word before it.
pub fn at_start(cell_words: &[String]) -> Vec<Found> {
    let mut found: Vec<Found> = vec![];
    for (term, phrase, strength) in phrases() {
        if phrase.len() > cell_words.len() || found.iter().any(|f| f.term == *term) {
            continue;
        }
        if phrase.iter().zip(cell_words).all(|(p, w)| close(w, p)) {
            found.push(Found { term: *term, strength: *strength, words: phrase.len() });
        }
    }
    let longest = found.iter().map(|f| f.words).max().unwrap_or(0);
    found.retain(|f| f.words == longest);
    if let [f] = found.as_mut_slice() {
        if matches!(f.term, Term::Total | Term::TotalNet) {
            let next = cell_words.get(f.words);
            if let Some(term) = next.and_then(|w| qualifier(w)) {
                *f = Found { term, strength: f.strength.max(0.95), words: f.words + 1 };
            } else if next.is_some_and(|w| is_tax_word(w)) && f.term == Term::Total {
                // "Summe Umsatzsteuer", "Totale IVA": the sum of the tax.
                *f = Found { term: Term::TotalTax, strength: f.strength.max(0.95), words: f.words + 1 };
            }
        }
    }
    found
}

/// The labels of a cell, read as a person reads "Label words: value": the label runs to its
/// colon. A known label at the start takes up to four more words before a colon ("Total com
/// imposto: € 12.829,69", "Data de tributação: 13 de abr. de 2018"), a net or gross word among
/// them deciding a total's term; a known label after one or two words of qualifier is one too
/// ("Taxable invoice num.: 1234", "Final invoice no.: 7"), a little less surely.
pub fn in_cell(text: &str) -> Vec<Found> {
    in_cell_words(text, &words(text))
}

/// As [`in_cell`], with the cell's words already normalised (`words(text)`).
pub fn in_cell_words(text: &str, cell_words: &[String]) -> Vec<Found> {
    let mut found = at_start(cell_words);
    // How many of the cell's words stand before its first colon, when those are words alone.
    let colon = text.find(':').map(|at| words(&text[..at]).len()).filter(|&k| {
        k > 0 && k <= 6 && cell_words[..k].iter().all(|w| !w.chars().any(|c| c.is_ascii_digit()))
    });
    let Some(k) = colon else { return found };
    if found.is_empty() {
        for skip in 1..=2.min(k - 1) {
            let inner = at_start(&cell_words[skip..k]);
            if let Some(f) = inner.into_iter().find(|f| f.words == k - skip && f.strength >= 0.9) {
                found.push(Found { term: f.term, strength: f.strength * 0.9, words: k });
                break;
            }
        }
        return found;
    }
    for f in &mut found {
        if f.words < k && k - f.words <= 4 {
            let between = &cell_words[f.words..k];
            // "Fatura com impostos num.:": a document's word and a number's mark make its number.
            if f.term == Term::InvoiceNumber && NO.contains(&between[between.len() - 1].as_str()) {
                f.strength = f.strength.max(0.9);
            }
            if matches!(f.term, Term::Total | Term::TotalNet) {
                if let Some(term) = between.iter().find_map(|w| qualifier(w)) {
                    f.term = term;
                }
            }
            f.words = k;
        }
    }
    found
}

/// Whether a word alone labels the tax total ("VAT", "MwSt", "TVA", "IVA", …).
fn is_tax_word(word: &str) -> bool {
    phrases().iter().any(|(term, phrase, _)| *term == Term::TotalTax && phrase.len() == 1 && close(word, &phrase[0]))
}

/// Whether a word after a total's label says net or gross.
pub fn qualifier(word: &str) -> Option<Term> {
    const NET: &[&str] = &["netto", "net", "neto", "ht", "excl", "exkl", "exclusief", "excluding", "exclusive", "hors", "sem", "senza", "bez", "without", "ohne", "zonder", "sin", "sans"];
    const GROSS: &[&str] = &["brutto", "gross", "bruto", "ttc", "incl", "inkl", "inclusief", "including", "inclusive", "lordo", "with", "mit", "met", "avec", "con", "com"];
    if NET.contains(&word) {
        Some(Term::TotalNet)
    } else if GROSS.contains(&word) {
        Some(Term::Total)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(text: &str) -> Vec<Term> {
        at_start(&words(text)).into_iter().map(|f| f.term).collect()
    }

    #[test]
    fn labels_in_eight_languages_with_abbreviations_and_damage() {
        for label in ["Rechnungs-Nr.:", "N° de facture", "Factuurnummer", "Nº Factura", "Fattura n.", "Nr faktury", "Inv#", "Invoice No.", "Rechnungsnurnmer", "Número da fatura"] {
            assert!(terms(label).contains(&Term::InvoiceNumber), "{label}: {:?}", terms(label));
        }
        assert_eq!(terms("Total incl. VAT")[0], Term::Total);
        assert!(terms("Total HT").contains(&Term::TotalNet));
        assert!(terms("Fälligkeitsdatum").contains(&Term::DueDate));
        assert!(terms("Do zapłaty").contains(&Term::AmountDue));
        assert!(terms("USt-IdNr.").contains(&Term::VatId));
        assert!(terms("Customs").is_empty(), "{:?}", terms("Customs"));
        assert_eq!(terms("Invoice date"), [Term::IssueDate]);
        assert_eq!(terms("Gesamtsumme netto"), [Term::TotalNet]);
        assert_eq!(terms("Gesamtsumme brutto"), [Term::Total]);
        assert_eq!(terms("Totale lordo"), [Term::Total]);
        assert_eq!(terms("Summe Umsatzsteuer"), [Term::TotalTax]);
        let cell = |text: &str| in_cell(text).into_iter().map(|f| (f.term, f.words)).collect::<Vec<_>>();
        assert_eq!(cell("Total com imposto: € 12.829,69"), [(Term::Total, 3)]);
        assert_eq!(cell("Total sem imposto: € 10.781,25"), [(Term::TotalNet, 3)]);
        assert_eq!(cell("Taxable invoice num.: 123456XX"), [(Term::InvoiceNumber, 3)]);
        assert!(in_cell("Fatura com impostos num.: 1234567")[0].strength >= 0.9);
        assert_eq!(cell("Invoice no. 4711: paid"), [(Term::InvoiceNumber, 2)]);
        assert!(cell("Our terms apply to this invoice no. 3: see overleaf").is_empty());
        for label in ["Credit Note No.", "Gutschrift-Nr.", "N° d'avoir", "Creditnota", "Nota de crédito n.º", "Nota di credito", "Faktura korygująca nr"] {
            assert_eq!(terms(label), [Term::CreditNote], "{label}");
        }
    }
}
