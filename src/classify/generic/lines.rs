//! An invoice's lines, read as a person reads its table: a header row whose cells name the
//! columns (a description, a quantity, a unit price, an amount…), then the rows below it, each
//! cell under the header it stands beneath, down to the totals. A row is a line where the amount
//! column holds an amount; text alone under the description continues the row above (a wrapped
//! description). The lines are sure when their net amounts add up to the invoice's net total —
//! the check a clerk makes before keying a table in — and each row's quantity × price is checked
//! against its amount.

use super::labels::{self, Term};
use super::layout::Layout;
// Written as the e-invoice model writes its lines' amounts and quantities.
use crate::invoice::{amount_text, number_text};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;
use std::str::FromStr;

/// One invoice line, with the e-invoice model's names (`lines` of an XRechnung or Factur-X).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Line {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net_amount: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_rate: Option<String>,
}

/// The table of lines found, and how sure the reader is of it.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Lines {
    pub rows: Vec<Line>,
    pub confidence: f64,
    pub sure: bool,
    /// In words: the header, where, and the checks passed or failed.
    pub evidence: String,
}

/// What a table column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Col {
    Position,
    ItemId,
    Description,
    Quantity,
    Unit,
    UnitPrice,
    /// A line's amount; net or gross by a qualifier in its header ("Total price with tax").
    Amount,
    NetAmount,
    GrossAmount,
    TaxRate,
    /// A header this reader has no name for: what stands under it is no other column's.
    Other,
}

/// Column headers as invoices print them, normalised as labels are (lower case, no accents or
/// punctuation). A header may add a currency or a net/gross word ("Betrag EUR", "Montant HT").
const HEADERS: &[(Col, &str)] = &[
    (Col::Position, "pos"),
    (Col::Position, "position"),
    (Col::Position, "#"),
    (Col::Position, "no"),
    (Col::Position, "nr"),
    (Col::Position, "lp"),
    (Col::Position, "n"),
    (Col::Position, "line"),
    (Col::ItemId, "item no"),
    (Col::ItemId, "item number"),
    (Col::ItemId, "item code"),
    (Col::ItemId, "product code"),
    (Col::ItemId, "sku"),
    (Col::ItemId, "code"),
    (Col::ItemId, "ref"),
    (Col::ItemId, "reference"),
    (Col::ItemId, "art nr"),
    (Col::ItemId, "artikelnummer"),
    (Col::ItemId, "artikel nr"),
    (Col::ItemId, "artnr"),
    (Col::ItemId, "art no"),
    (Col::ItemId, "artikelnr"),
    (Col::ItemId, "referencia"),
    (Col::ItemId, "codigo"),
    (Col::ItemId, "codice"),
    (Col::ItemId, "kod"),
    (Col::ItemId, "indeks"),
    (Col::Description, "description"),
    (Col::Description, "item description"),
    (Col::Description, "item"),
    (Col::Description, "items"),
    (Col::Description, "article"),
    (Col::Description, "product"),
    (Col::Description, "products"),
    (Col::Description, "service"),
    (Col::Description, "services"),
    (Col::Description, "details"),
    (Col::Description, "particulars"),
    (Col::Description, "bezeichnung"),
    (Col::Description, "beschreibung"),
    (Col::Description, "artikel"),
    (Col::Description, "artikelbezeichnung"),
    (Col::Description, "leistung"),
    (Col::Description, "leistungen"),
    (Col::Description, "leistungsbeschreibung"),
    (Col::Description, "text"),
    (Col::Description, "designation"),
    (Col::Description, "libelle"),
    (Col::Description, "produit"),
    (Col::Description, "omschrijving"),
    (Col::Description, "beschrijving"),
    (Col::Description, "descripcion"),
    (Col::Description, "concepto"),
    (Col::Description, "articulo"),
    (Col::Description, "producto"),
    (Col::Description, "descrizione"),
    (Col::Description, "articolo"),
    (Col::Description, "prodotto"),
    (Col::Description, "denominazione"),
    (Col::Description, "descricao"),
    (Col::Description, "designacao"),
    (Col::Description, "artigo"),
    (Col::Description, "produto"),
    (Col::Description, "servico"),
    (Col::Description, "opis"),
    (Col::Description, "nazwa"),
    (Col::Description, "nazwa towaru lub uslugi"),
    (Col::Description, "towar usluga"),
    (Col::Quantity, "qty"),
    (Col::Quantity, "quantity"),
    (Col::Quantity, "quant"),
    (Col::Quantity, "units"),
    (Col::Quantity, "hours"),
    (Col::Quantity, "hrs"),
    (Col::Quantity, "menge"),
    (Col::Quantity, "anzahl"),
    (Col::Quantity, "anz"),
    (Col::Quantity, "stunden"),
    (Col::Quantity, "quantite"),
    (Col::Quantity, "qte"),
    (Col::Quantity, "aantal"),
    (Col::Quantity, "hoeveelheid"),
    (Col::Quantity, "cantidad"),
    (Col::Quantity, "cant"),
    (Col::Quantity, "unidades"),
    (Col::Quantity, "uds"),
    (Col::Quantity, "quantita"),
    (Col::Quantity, "qta"),
    (Col::Quantity, "q ta"),
    (Col::Quantity, "quantidade"),
    (Col::Quantity, "qtd"),
    (Col::Quantity, "qtde"),
    (Col::Quantity, "ilosc"),
    (Col::Unit, "unit"),
    (Col::Unit, "uom"),
    (Col::Unit, "einheit"),
    (Col::Unit, "me"),
    (Col::Unit, "unite"),
    (Col::Unit, "eenheid"),
    (Col::Unit, "unidad"),
    (Col::Unit, "unita"),
    (Col::Unit, "um"),
    (Col::Unit, "u m"),
    (Col::Unit, "unidade"),
    (Col::Unit, "jm"),
    (Col::Unit, "j m"),
    (Col::Unit, "jednostka"),
    (Col::Unit, "jedn"),
    (Col::UnitPrice, "unit price"),
    (Col::UnitPrice, "price"),
    (Col::UnitPrice, "rate"),
    (Col::UnitPrice, "unit cost"),
    (Col::UnitPrice, "price per unit"),
    (Col::UnitPrice, "price per one"),
    (Col::UnitPrice, "price each"),
    (Col::UnitPrice, "einzelpreis"),
    (Col::UnitPrice, "preis"),
    (Col::UnitPrice, "stuckpreis"),
    (Col::UnitPrice, "ep"),
    (Col::UnitPrice, "preis je einheit"),
    (Col::UnitPrice, "prix"),
    (Col::UnitPrice, "prix unitaire"),
    (Col::UnitPrice, "prix unit"),
    (Col::UnitPrice, "pu"),
    (Col::UnitPrice, "p u"),
    (Col::UnitPrice, "prijs"),
    (Col::UnitPrice, "stukprijs"),
    (Col::UnitPrice, "eenheidsprijs"),
    (Col::UnitPrice, "prijs per stuk"),
    (Col::UnitPrice, "precio"),
    (Col::UnitPrice, "precio unitario"),
    (Col::UnitPrice, "precio unidad"),
    (Col::UnitPrice, "prezzo"),
    (Col::UnitPrice, "prezzo unitario"),
    (Col::UnitPrice, "prezzo unit"),
    (Col::UnitPrice, "preco"),
    (Col::UnitPrice, "preco unitario"),
    (Col::UnitPrice, "preco unit"),
    (Col::UnitPrice, "valor unitario"),
    (Col::UnitPrice, "cena"),
    (Col::UnitPrice, "cena jedn"),
    (Col::UnitPrice, "cena jednostkowa"),
    (Col::Amount, "amount"),
    (Col::Amount, "total"),
    (Col::Amount, "line total"),
    (Col::Amount, "total price"),
    (Col::Amount, "subtotal"),
    (Col::Amount, "value"),
    (Col::Amount, "betrag"),
    (Col::Amount, "gesamt"),
    (Col::Amount, "gesamtpreis"),
    (Col::Amount, "gesamtbetrag"),
    (Col::Amount, "summe"),
    (Col::Amount, "wert"),
    (Col::Amount, "montant"),
    (Col::Amount, "prix total"),
    (Col::Amount, "bedrag"),
    (Col::Amount, "totaal"),
    (Col::Amount, "importe"),
    (Col::Amount, "importo"),
    (Col::Amount, "totale"),
    (Col::Amount, "imponibile"),
    (Col::Amount, "valore"),
    (Col::Amount, "valor"),
    (Col::Amount, "valor total"),
    (Col::Amount, "preco total"),
    (Col::Amount, "wartosc"),
    (Col::Amount, "kwota"),
    (Col::NetAmount, "net"),
    (Col::NetAmount, "netto"),
    (Col::NetAmount, "net amount"),
    (Col::NetAmount, "nettobetrag"),
    (Col::NetAmount, "nettopreis"),
    (Col::NetAmount, "neto"),
    (Col::GrossAmount, "gross"),
    (Col::GrossAmount, "brutto"),
    (Col::GrossAmount, "bruttobetrag"),
    (Col::GrossAmount, "bruto"),
    (Col::GrossAmount, "lordo"),
    (Col::TaxRate, "vat"),
    (Col::TaxRate, "vat rate"),
    (Col::TaxRate, "tax"),
    (Col::TaxRate, "tax rate"),
    (Col::TaxRate, "mwst"),
    (Col::TaxRate, "ust"),
    (Col::TaxRate, "steuer"),
    (Col::TaxRate, "steuersatz"),
    (Col::TaxRate, "ust satz"),
    (Col::TaxRate, "mwst satz"),
    (Col::TaxRate, "tva"),
    (Col::TaxRate, "taux tva"),
    (Col::TaxRate, "taux"),
    (Col::TaxRate, "btw"),
    (Col::TaxRate, "iva"),
    (Col::TaxRate, "tipo iva"),
    (Col::TaxRate, "aliquota"),
    (Col::TaxRate, "aliquota iva"),
    (Col::TaxRate, "taxa iva"),
    (Col::TaxRate, "stawka"),
    (Col::TaxRate, "stawka vat"),
    (Col::TaxRate, "taxes"),
    (Col::TaxRate, "imposto"),
    (Col::TaxRate, "impostos"),
    (Col::TaxRate, "impuesto"),
    (Col::TaxRate, "impuestos"),
    (Col::TaxRate, "imposta"),
    (Col::TaxRate, "imposte"),
    (Col::TaxRate, "podatek"),
];

/// Words a header may carry besides its column's name: a currency ("Betrag EUR", "Kwota zł").
fn filler(word: &str) -> bool {
    word.len() == 3 && word.chars().all(|c| c.is_ascii_lowercase()) && crate::invoice::codes::is_currency(&word.to_uppercase())
        || matches!(word, "eur" | "in" | "zl" | "pln")
}

/// Whether `word` is the header word `name` as OCR reads it: the same, or for a name of five
/// letters or more one letter changed, added or dropped once the letters OCR takes for one
/// another are one ("llosé" is "Ilość", "Wartos¢" is "Wartość").
fn ocr_close(word: &str, name: &str) -> bool {
    if word == name {
        return true;
    }
    if name.len() < 5 || word.len().abs_diff(name.len()) > 1 {
        return false;
    }
    let fold = |s: &str| -> Vec<char> { s.chars().map(|c| match c { 'l' | '1' | 'j' => 'i', '0' => 'o', c => c }).collect() };
    labels::one_edit(&fold(word), &fold(name))
}

/// The columns a header cell names as written.
fn columns_in(text: &str) -> Vec<(Col, f64, f64)> {
    columns_in_as(text, false)
}

/// The columns a header cell names (`damaged`: also as OCR damages the names), each with the
/// share of the cell's text it takes (a cell may hold two headers a narrow gap joined: "Qty
/// Unit price").
fn columns_in_as(text: &str, damaged: bool) -> Vec<(Col, f64, f64)> {
    let words = labels::words(text);
    if words.is_empty() || words.len() > 8 {
        return vec![];
    }
    let mut out: Vec<(Col, usize, usize)> = vec![];
    let mut i = 0;
    while i < words.len() {
        if filler(&words[i]) {
            i += 1;
            continue;
        }
        // A net or gross word qualifies the amount before it ("Montant HT", "Wartość brutto").
        if let (Some(last), Some(q)) = (out.last_mut(), labels::qualifier(&words[i])) {
            if matches!(last.0, Col::Amount | Col::UnitPrice | Col::NetAmount | Col::GrossAmount) {
                if last.0 != Col::UnitPrice {
                    last.0 = if q == Term::TotalNet { Col::NetAmount } else { Col::GrossAmount };
                }
                last.2 = i + 1;
                i += 1;
                // "with tax", "incl. VAT", "excl. BTW": the tax's word belongs to the qualifier.
                if i < words.len() && HEADERS.iter().any(|(c, h)| *c == Col::TaxRate && *h == words[i]) {
                    last.2 = i + 1;
                    i += 1;
                }
                continue;
            }
        }
        // The longest header at this word.
        // Names as written first; as OCR damages them only where asked (a line that names two
        // columns exactly is a header, and its other names may be damaged).
        let best = HEADERS
            .iter()
            .filter_map(|(col, h)| {
                let hw: Vec<&str> = h.split(' ').collect();
                if i + hw.len() > words.len() {
                    return None;
                }
                let exact = hw.iter().zip(&words[i..]).all(|(a, b)| a == b);
                (exact || (damaged && hw.iter().zip(&words[i..]).all(|(a, b)| ocr_close(b, a)))).then_some((*col, hw.len(), exact))
            })
            .max_by_key(|(_, n, exact)| (*n, *exact))
            .map(|(col, n, _)| (col, n));
        match best {
            Some((col, n)) => {
                out.push((col, i, i + n));
                i += n;
            }
            None => return vec![],
        }
    }
    let n = words.len() as f64;
    out.into_iter().map(|(c, a, b)| (c, a as f64 / n, b as f64 / n)).collect()
}

/// A column of a table: what it holds, its header's left and right edge, and those edges widened
/// to halfway to its neighbours (for a value that stands under no header).
#[derive(Debug, Clone)]
struct Column {
    col: Col,
    x0: f64,
    x1: f64,
    wide: (f64, f64),
    header: String,
}

/// The header at line `line` of `layout`, and the last line it takes: three or more column names,
/// among them a description or a quantity and an amount or a price. A header's name may wrap
/// onto the line above or below ("Prix" over "unitaire" beside a one-line "Montant").
fn header_at(layout: &Layout, line: usize) -> Option<(Vec<Column>, usize, usize)> {
    let here = &layout.lines[line];
    // The header's own line names most of its columns; the lines beside only finish names.
    if here.iter().filter(|&&c| !columns_in(&layout.cells[c].text).is_empty()).count() < 2 {
        return None;
    }
    let first = &layout.cells[here[0]];
    let height = (first.y1 - first.y0).max(1.0);
    // Cells of the lines just above and below that stand where this line has none.
    let near = |l: usize| {
        let c = &layout.cells[layout.lines[l][0]];
        c.page == first.page && (c.y0 - first.y1).max(first.y0 - c.y1) < 0.6 * height
    };
    let free = |id: usize| {
        let c = &layout.cells[id];
        here.iter().all(|&h| c.x1 <= layout.cells[h].x0 || c.x0 >= layout.cells[h].x1)
    };
    let above: Vec<usize> =
        line.checked_sub(1).filter(|&l| near(l)).map(|l| layout.lines[l].iter().copied().filter(|&c| free(c)).collect()).unwrap_or_default();
    let below_line = (line + 1 < layout.lines.len() && near(line + 1)).then_some(line + 1);
    let below: Vec<usize> = below_line.map(|l| layout.lines[l].iter().copied().filter(|&c| free(c)).collect()).unwrap_or_default();
    // Each header cell with the parts of it wrapped above and below: (text, left, right).
    let mut cells: Vec<(String, f64, f64)> = here.iter().map(|&id| (layout.cells[id].text.clone(), layout.cells[id].x0, layout.cells[id].x1)).collect();
    let mut used_below = false;
    // A name wrapped inside its own cell: the line below holds its end, under it ("Quantidad"
    // over "e" in a narrow column), and no number.
    if let Some(l) = below_line.filter(|&l| layout.lines[l].iter().all(|&c| !layout.cells[c].text.chars().any(|ch| ch.is_ascii_digit()))) {
        for &b in &layout.lines[l] {
            let c = &layout.cells[b];
            let over: Vec<usize> = (0..cells.len()).filter(|&k| cells[k].1 < c.x1 && cells[k].2 > c.x0).collect();
            if let [k] = over[..] {
                if !columns_in(&cells[k].0).is_empty() {
                    continue;
                }
                let joined = [format!("{}{}", cells[k].0, c.text), format!("{} {}", cells[k].0, c.text)];
                if let Some(text) = joined.into_iter().find(|t| !columns_in(t).is_empty()) {
                    cells[k].0 = text;
                    used_below = true;
                }
            }
        }
    }
    for &a in &above {
        let c = &layout.cells[a];
        let under: Vec<usize> = below.iter().copied().filter(|&b| layout.cells[b].x0 < c.x1 && layout.cells[b].x1 > c.x0).collect();
        let mut text = c.text.clone();
        let (mut x0, mut x1) = (c.x0, c.x1);
        for &b in &under {
            let b = &layout.cells[b];
            text.push(' ');
            text.push_str(&b.text);
            (x0, x1) = (x0.min(b.x0), x1.max(b.x1));
            used_below = true;
        }
        cells.push((text, x0, x1));
    }
    for &b in &below {
        let c = &layout.cells[b];
        if !above.iter().any(|&a| layout.cells[a].x0 < c.x1 && layout.cells[a].x1 > c.x0) && !columns_in(&c.text).is_empty() {
            cells.push((c.text.clone(), c.x0, c.x1));
            used_below = true;
        }
    }
    cells.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut cols: Vec<Column> = vec![];
    let mut other = 0;
    // A rule or a stray mark between headers ("——", "|") names nothing and is no column.
    cells.retain(|(text, _, _)| text.chars().any(char::is_alphanumeric));
    for (text, x0, x1) in &cells {
        let found = columns_in_as(text, true);
        if found.is_empty() {
            other += 1;
            cols.push(Column { col: Col::Other, x0: *x0, x1: *x1, wide: (*x0, *x1), header: text.clone() });
            continue;
        }
        let w = x1 - x0;
        for (col, a, b) in &found {
            let (l, r) = (x0 + a * w, x0 + b * w);
            cols.push(Column { col: *col, x0: l, x1: r, wide: (l, r), header: text.clone() });
        }
    }
    let has = |cs: &[Col]| cols.iter().any(|c| cs.contains(&c.col));
    let amounts = [Col::Amount, Col::NetAmount, Col::GrossAmount, Col::UnitPrice];
    let named = cols.len() - other;
    let ok = named >= 3 && other <= named / 2 && has(&[Col::Description, Col::Quantity]) && has(&amounts);
    if !ok {
        return None;
    }
    let edges: Vec<(f64, f64)> = cols.iter().map(|c| (c.x0, c.x1)).collect();
    for (i, c) in cols.iter_mut().enumerate() {
        let left = if i > 0 { (edges[i - 1].1 + edges[i].0) / 2.0 } else { f64::MIN };
        let right = edges.get(i + 1).map_or(f64::MAX, |next| (edges[i].1 + next.0) / 2.0);
        c.wide = (left, right);
    }
    let last = if used_below { line + 1 } else { line };
    Some((cols, last, other))
}

/// The column a span stands under: the header it overlaps most, else the one whose widened
/// span it overlaps most.
fn column_of(x0: f64, x1: f64, cols: &[Column]) -> usize {
    let under = |a: f64, b: f64| x1.min(b) - x0.max(a);
    let best = |f: &dyn Fn(&Column) -> f64| (0..cols.len()).max_by(|&i, &j| f(&cols[i]).total_cmp(&f(&cols[j]))).unwrap_or(0);
    let k = best(&|c| under(c.x0, c.x1));
    if under(cols[k].x0, cols[k].x1) > 0.0 {
        k
    } else {
        best(&|c| under(c.wide.0, c.wide.1))
    }
}

/// A line's text per column. A cell under one header is that column's (a long description
/// runs on past its header); a cell under two (a narrow gap joined "2 2,48") is parted by its
/// words, each placed by its share of the cell's width.
fn split_row(layout: &Layout, line: usize, cols: &[Column]) -> BTreeMap<usize, String> {
    let mut out: BTreeMap<usize, String> = BTreeMap::new();
    // Two cells under one column are kept apart by two spaces: "33" and "143,75" are not the
    // thousands of one number.
    let mut put = |k: usize, word: &str, apart: bool| {
        let text = out.entry(k).or_default();
        if !text.is_empty() {
            text.push_str(if apart { "  " } else { " " });
        }
        text.push_str(word);
    };
    for &id in &layout.lines[line] {
        let c = &layout.cells[id];
        let headers = cols.iter().filter(|k| c.x0 < k.x1 && c.x1 > k.x0).count();
        if headers <= 1 {
            put(column_of(c.x0, c.x1, cols), &c.text, true);
            continue;
        }
        let len = c.text.chars().count().max(1) as f64;
        let w = c.x1 - c.x0;
        let mut at = 0usize;
        let mut parts: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
        for word in tokens(&c.text) {
            let start = c.text[at..].find(word).map_or(at, |k| at + k);
            let a = c.text[..start].chars().count() as f64;
            let b = a + word.chars().count() as f64;
            at = start + word.len();
            parts.entry(column_of(c.x0 + a / len * w, c.x0 + b / len * w, cols)).or_default().push(word);
        }
        for (k, words) in parts {
            put(k, &words.join(" "), true);
        }
    }
    out
}

/// A number as a table prints a quantity, price or rate, with `mark` the document's decimal
/// mark: "1.234,5" → 1234.5; a unit or currency beside it is left out ("3 Stk", "12,50 €").
fn number(text: &str, mark: char) -> Option<(Decimal, String)> {
    let t = text.trim();
    let start = t.find(|c: char| c.is_ascii_digit())?;
    let lead = &t[..start];
    if !lead.chars().all(|c| c.is_whitespace() || matches!(c, '-' | '−' | '€' | '$' | '£' | '(') || c.is_ascii_uppercase()) {
        return None;
    }
    let negative = lead.contains(['-', '−', '(']);
    // Digits and marks; a plain space only as a thousands mark ("2 374,68": three digits after).
    let chars: Vec<char> = t[start..].chars().collect();
    let group_after = |i: usize| (1..=3).all(|k| chars.get(i + k).is_some_and(char::is_ascii_digit)) && !chars.get(i + 4).is_some_and(char::is_ascii_digit);
    let mut body = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_digit() || matches!(c, '.' | ',' | '\'' | '\u{a0}' | '\u{202f}') || (c == ' ' && group_after(i)) {
            body.push(c);
        } else {
            break;
        }
    }
    let rest = t[start + body.len()..].trim();
    let body = body.trim_end_matches(['.', ',']);
    // What follows is a unit, a currency or a percent sign, not more digits.
    if rest.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut digits = String::new();
    let parts: Vec<&str> = body.split(['.', ',', '\'', '\u{a0}', '\u{202f}', ' ']).collect();
    let marks: Vec<char> = body.chars().filter(|c| !c.is_ascii_digit()).collect();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            let m = marks[i - 1];
            // The last mark is the decimal one when it is the document's, or when fewer or more
            // than three digits follow it (no thousands group is "2.5").
            let decimal = i == parts.len() - 1 && (m == mark || p.len() != 3) && matches!(m, '.' | ',');
            if decimal {
                digits.push('.');
            } else if p.len() != 3 {
                return None;
            }
        }
        digits.push_str(p);
    }
    let mut d = Decimal::from_str(&digits).ok()?;
    if negative {
        d = -d;
    }
    Some((d, rest.to_string()))
}

/// Which decimal mark the document writes its amounts with: the mark before the last two
/// digits of the amounts under the header.
fn decimal_mark(texts: &[&str]) -> char {
    let (mut point, mut comma) = (0, 0);
    for t in texts {
        let digits: Vec<char> = t.chars().filter(|c| c.is_ascii_digit() || matches!(c, '.' | ',')).collect();
        let n = digits.len();
        if n >= 4 && digits[n - 1].is_ascii_digit() && digits[n - 2].is_ascii_digit() {
            match digits[n - 3] {
                '.' => point += 1,
                ',' => comma += 1,
                _ => {}
            }
        }
    }
    if comma > point {
        ','
    } else {
        '.'
    }
}

/// Whether a line is where the table ends: a cell of it labels a total ("Subtotal", "Total HT")
/// — outside the description column, or in it on a line with no quantity or price (an item may
/// be called "Total station").
fn ends_table(layout: &Layout, line: usize, cols: &[Column], priced: bool) -> bool {
    layout.lines[line].iter().any(|&c| {
        let cell = &layout.cells[c];
        let total = labels::in_cell(&cell.text)
            .iter()
            .any(|f| f.strength >= 0.9 && matches!(f.term, Term::Total | Term::TotalNet | Term::TotalTax | Term::AmountDue));
        total && (!priced || cols[column_of(cell.x0, cell.x1, cols)].col != Col::Description)
    })
}

/// A cell's words, a number's thousands groups kept together ("2 374,68").
fn tokens(text: &str) -> Vec<&str> {
    let mut out: Vec<&str> = vec![];
    let mut start: Option<usize> = None;
    let words: Vec<(usize, &str)> = text.split(' ').scan(0, |at, w| {
        let from = *at;
        *at += w.len() + 1;
        Some((from, w))
    }).filter(|(_, w)| !w.is_empty()).collect();
    for (i, &(at, w)) in words.iter().enumerate() {
        let from = start.take().unwrap_or(at);
        let group = |w: &str| w.trim_start_matches(['-', '−']).len() <= 3 && w.trim_start_matches(['-', '−']).chars().all(|c| c.is_ascii_digit()) && !w.is_empty();
        let next_is_group = words.get(i + 1).is_some_and(|(_, n)| {
            let d: String = n.chars().take_while(char::is_ascii_digit).collect();
            d.len() == 3 && n[3..].chars().next().is_none_or(|c| matches!(c, '.' | ','))
        });
        if group(w) && next_is_group {
            start = Some(from);
            continue;
        }
        out.push(&text[from..at + w.len()]);
    }
    out
}

/// One table: its columns, and its rows as (line, text per column).
struct Table {
    cols: Vec<Column>,
    page: u32,
    rows: Vec<BTreeMap<usize, String>>,
    /// Header cells that name no column this reader knows: what stands under them is unread.
    unnamed: usize,
}

/// A line of a table: a row (its text per column), or text under the description alone.
struct Part {
    y0: f64,
    y1: f64,
    row: Option<BTreeMap<usize, String>>,
    text: String,
}

/// The rows, each with the description text that belongs to it. A description that wraps
/// stands below its row's numbers where the table sets them at the top, above and below where
/// it centres them, above where it sets them at the bottom: the text between two rows is
/// parted at its widest gap (the space between two rows is wider than between the lines of
/// one); text before the first row and after the last joins it when it stands close.
fn assemble(parts: Vec<Part>, desc: Option<usize>, height: f64) -> Vec<BTreeMap<usize, String>> {
    let Some(d) = desc else {
        return parts.into_iter().filter_map(|p| p.row).collect();
    };
    let rows_at: Vec<usize> = (0..parts.len()).filter(|&i| parts[i].row.is_some()).collect();
    let mut rows: Vec<BTreeMap<usize, String>> = rows_at.iter().map(|&i| parts[i].row.clone().unwrap_or_default()).collect();
    if rows.is_empty() {
        return rows;
    }
    let gap = |a: usize, b: usize| parts[b].y0 - parts[a].y1;
    // Which row each text line joins, and whether before or after the row's own text.
    let mut joins: Vec<(usize, usize, bool)> = vec![];
    // Before the first row: the lines close above it, nearest first.
    let mut i = rows_at[0];
    while i > 0 && gap(i - 1, i) < 1.0 * height {
        i -= 1;
        joins.push((i, 0, true));
    }
    for (r, pair) in rows_at.windows(2).enumerate() {
        let (a, b) = (pair[0], pair[1]);
        if b == a + 1 {
            continue;
        }
        // The widest gap from row a's line to row b's parts the text between.
        let gaps: Vec<f64> = (a..b).map(|k| gap(k, k + 1)).collect();
        let widest = gaps.iter().copied().fold(f64::MIN, f64::max);
        let narrowest = gaps.iter().copied().fold(f64::MAX, f64::min);
        let cut = if widest > 1.3 * narrowest.max(0.0) + 0.1 * height {
            a + gaps.iter().position(|&g| g == widest).unwrap_or(0)
        } else {
            b - 1
        };
        for k in a + 1..b {
            if k <= cut {
                joins.push((k, r, false));
            } else {
                joins.push((k, r + 1, true));
            }
        }
    }
    // After the last row: the lines that follow it closely.
    let mut k = *rows_at.last().unwrap_or(&0);
    while k + 1 < parts.len() && gap(k, k + 1) < 1.0 * height {
        k += 1;
        joins.push((k, rows.len() - 1, false));
    }
    joins.sort();
    let mut before: Vec<Vec<&str>> = vec![vec![]; rows.len()];
    let mut after: Vec<Vec<&str>> = vec![vec![]; rows.len()];
    for (k, r, is_before) in joins {
        if parts[k].row.is_some() {
            continue;
        }
        if is_before {
            before[r].push(&parts[k].text);
        } else {
            after[r].push(&parts[k].text);
        }
    }
    for (r, row) in rows.iter_mut().enumerate() {
        let own = row.get(&d).cloned();
        let text: Vec<&str> = before[r].iter().copied().chain(own.as_deref()).chain(after[r].iter().copied()).collect();
        if !text.is_empty() {
            row.insert(d, text.join(" "));
        }
    }
    rows
}

/// The invoice's lines, from every table whose header names its columns (a long invoice repeats
/// its header on each page), checked against the net total the reader found (`net`, `total`,
/// `tax`: the reader's values of those fields).
pub fn read(layout: &Layout, net: Option<&str>, total: Option<&str>, tax: Option<&str>) -> Option<Lines> {
    let mut tables: Vec<Table> = vec![];
    let mut line = 0;
    while line < layout.lines.len() {
        let Some((cols, last, unnamed)) = header_at(layout, line) else {
            line += 1;
            continue;
        };
        let head = layout.cells[layout.lines[last][0]].clone();
        let height = (head.y1 - head.y0).max(1.0);
        let desc = cols.iter().position(|c| c.col == Col::Description);
        let mut last_y = head.y1;
        // The table's lines in order: a row (its amount) or a description's text alone.
        let mut parts: Vec<Part> = vec![];
        line = last + 1;
        while line < layout.lines.len() {
            let first = &layout.cells[layout.lines[line][0]];
            // A page ends a table (the next page repeats its header); so does a wide gap.
            if first.page != head.page || first.y0 - last_y > 4.0 * height || header_at(layout, line).is_some() {
                break;
            }
            let (y0, y1) = layout.lines[line].iter().fold((f64::MAX, f64::MIN), |(a, b), &c| (a.min(layout.cells[c].y0), b.max(layout.cells[c].y1)));
            let split = split_row(layout, line, &cols);
            let row_like = split.iter().any(|(&k, v)| {
                matches!(cols[k].col, Col::Amount | Col::NetAmount | Col::GrossAmount) && number(v, '.').is_some()
            });
            let priced = split.iter().any(|(&k, v)| matches!(cols[k].col, Col::Quantity | Col::UnitPrice) && number(v, '.').is_some());
            if ends_table(layout, line, &cols, priced) {
                break;
            }
            if row_like {
                parts.push(Part { y0, y1, row: Some(split), text: String::new() });
            } else if let (Some(d), 1) = (desc, split.len()) {
                if let Some(text) = split.get(&d) {
                    parts.push(Part { y0, y1, row: None, text: text.clone() });
                }
            }
            last_y = y1;
            line += 1;
        }
        let rows = assemble(parts, desc, height);
        if !rows.is_empty() {
            tables.push(Table { cols, page: head.page, rows, unnamed });
        }
    }
    if tables.is_empty() {
        return None;
    }
    let amounts: Vec<&str> = tables
        .iter()
        .flat_map(|t| t.rows.iter().flat_map(|r| r.iter().filter(|(&k, _)| matches!(t.cols[k].col, Col::Amount | Col::NetAmount | Col::GrossAmount | Col::UnitPrice)).map(|(_, v)| v.as_str())))
        .collect();
    let mark = decimal_mark(&amounts);
    let dec = |s: Option<&str>| s.and_then(super::dec);
    let (net, total, tax) = (dec(net), dec(total), dec(tax));
    // The net total the lines should add up to: the reader's, else total − tax, else the total.
    let targets: Vec<(Decimal, &str)> = [
        net.map(|n| (n, "the net total")),
        total.zip(tax).map(|(t, x)| (t - x, "the total less the tax")),
        total.filter(|_| tax.is_none_or(|x| x.is_zero())).map(|t| (t, "the total")),
    ]
    .into_iter()
    .flatten()
    .collect();
    // The net column: the one whose amounts add up to the net total (over every table: a long
    // invoice's pages each hold a part), else the one headed net, else a plain amount; a gross
    // column alone gives no net amounts.
    let amount_cols = |t: &Table| -> Vec<usize> {
        (0..t.cols.len()).filter(|&k| matches!(t.cols[k].col, Col::Amount | Col::NetAmount)).collect()
    };
    let sum_of = |t: &Table, k: usize| -> Decimal {
        t.rows.iter().filter_map(|r| r.get(&k).and_then(|v| number(v, mark))).map(|(d, _)| d).sum()
    };
    let most = tables.iter().map(|t| amount_cols(t).len()).max().unwrap_or(0);
    let adds_up = (0..most).find(|&j| {
        let sum: Decimal = tables.iter().filter_map(|t| amount_cols(t).get(j).map(|&k| sum_of(t, k))).sum();
        targets.iter().any(|(x, _)| sum == *x)
    });
    let mut rows: Vec<Line> = vec![];
    let mut gaps = 0;
    let mut headers: Vec<String> = vec![];
    let mut pages: Vec<u32> = vec![];
    for t in &tables {
        let candidates = amount_cols(t);
        let net_col = adds_up
            .and_then(|j| candidates.get(j).copied())
            .or_else(|| candidates.iter().copied().find(|&k| t.cols[k].col == Col::NetAmount))
            .or_else(|| candidates.first().copied());
        let Some(net_col) = net_col else { continue };
        let mut header: Vec<&str> = t.cols.iter().map(|c| c.header.as_str()).collect();
        header.dedup();
        headers.push(header.join(" | "));
        if !pages.contains(&t.page) {
            pages.push(t.page);
        }
        for r in &t.rows {
            let Some((amount, _)) = r.get(&net_col).and_then(|v| number(v, mark)) else { continue };
            let mut line = Line { net_amount: Some(amount_text(amount)), ..Line::default() };
            for (&k, v) in r {
                let v = v.trim();
                match t.cols[k].col {
                    Col::Position if v.len() <= 6 => line.position = Some(v.trim_end_matches('.').to_string()),
                    Col::ItemId => line.item_id = Some(v.to_string()),
                    Col::Description => line.item_name = Some(v.to_string()),
                    Col::Quantity => {
                        if let Some((q, unit)) = number(v, mark) {
                            line.quantity = Some(number_text(q));
                            if !unit.is_empty() && line.unit.is_none() {
                                line.unit = Some(unit);
                            }
                        }
                    }
                    Col::Unit if !v.is_empty() => line.unit = Some(v.to_string()),
                    Col::UnitPrice => line.unit_price = number(v, mark).map(|(d, _)| amount_text(d)),
                    // A rate, not the tax's amount: a percent sign by it or in its header.
                    Col::TaxRate if v.contains('%') || t.cols[k].header.contains('%') => {
                        line.tax_rate = number(v, mark).map(|(d, _)| number_text(d))
                    }
                    _ => {}
                }
            }
            let has = |col: Col| t.cols.iter().any(|c| c.col == col);
            gaps += usize::from((has(Col::Quantity) && line.quantity.is_none()) || (has(Col::UnitPrice) && line.unit_price.is_none()));
            rows.push(line);
        }
    }
    if rows.is_empty() {
        return None;
    }
    let sum: Decimal = rows.iter().filter_map(|l| dec(l.net_amount.as_deref())).sum();
    // Quantity × price against the amount, where both are printed (a cent's rounding allowed).
    let priced: Vec<bool> = rows
        .iter()
        .filter_map(|l| {
            let (q, p, a) = (dec(l.quantity.as_deref())?, dec(l.unit_price.as_deref())?, dec(l.net_amount.as_deref())?);
            Some(((q * p).round_dp(2) - a).abs() <= Decimal::new(1, 2))
        })
        .collect();
    let products = priced.iter().filter(|ok| **ok).count();
    let mut evidence = format!(
        "{} line{} in a table headed \"{}\" on page {}",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        headers.first().cloned().unwrap_or_default(),
        pages.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
    );
    // A sum of nothing proves nothing (credits and charges that cancel out).
    let confidence: f64 = match targets.iter().find(|(x, _)| *x == sum && !x.is_zero()) {
        Some((x, what)) => {
            evidence.push_str(&format!("; their amounts add up to {what} ({})", amount_text(*x)));
            0.97
        }
        None => {
            match targets.first() {
                Some((x, what)) => evidence.push_str(&format!("; their amounts add up to {} but {what} is {}", amount_text(sum), amount_text(*x))),
                None => evidence.push_str("; no net total found to check them against"),
            }
            0.6
        }
    };
    if !priced.is_empty() {
        evidence.push_str(&format!("; quantity × price = amount on {products} of {}", priced.len()));
    }
    // A row whose quantity and price do not make its amount was misread somewhere.
    let mut confidence = if products < priced.len() { confidence.min(0.75) } else { confidence };
    // What the table holds and the reader did not read: a column it has no name for, a row
    // with nothing under the quantity or price.
    let unnamed: usize = tables.iter().map(|t| t.unnamed).sum();
    if unnamed > 0 {
        evidence.push_str(&format!("; {unnamed} column header(s) name nothing known here"));
        confidence = confidence.min(0.75);
    }
    if gaps > 0 {
        evidence.push_str(&format!("; {gaps} line(s) with no readable quantity or price under its header"));
        confidence = confidence.min(0.75);
    }
    Some(Lines { rows, confidence, sure: confidence >= super::SURE, evidence })
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVOICE: &str = "\
Rechnung Nr. 2024-117
Pos.   Bezeichnung                  Menge     Einzelpreis        Betrag
1      Wartung Heizungsanlage       2 Std          85,00         170,00
       inkl. Anfahrt
2      Dichtungssatz                1               20,00          20,00
                                        Summe netto             190,00
                                        USt. 19 %                36,10
                                        Gesamtbetrag            226,10
";

    #[test]
    fn a_table_is_read_by_its_headers_and_checked_against_the_net_total() {
        let layout = Layout::from_text(INVOICE);
        let lines = read(&layout, Some("190.00"), Some("226.10"), Some("36.10")).expect("a table");
        assert_eq!(lines.rows.len(), 2, "{lines:?}");
        let first = &lines.rows[0];
        assert_eq!(first.item_name.as_deref(), Some("Wartung Heizungsanlage inkl. Anfahrt"), "{lines:?}");
        assert_eq!((first.quantity.as_deref(), first.unit.as_deref()), (Some("2"), Some("Std")));
        assert_eq!((first.unit_price.as_deref(), first.net_amount.as_deref()), (Some("85.00"), Some("170.00")));
        assert_eq!(first.position.as_deref(), Some("1"));
        assert!(lines.sure, "{}", lines.evidence);
        assert!(lines.evidence.contains("add up to the net total"), "{}", lines.evidence);
        // A net total the lines do not make: found, not sure.
        let off = read(&layout, Some("290.00"), None, None).unwrap();
        assert!(!off.sure && off.evidence.contains("190.00 but the net total is 290.00"), "{}", off.evidence);
    }

    #[test]
    fn a_gross_column_beside_the_net_one_is_not_the_lines_amount() {
        let text = "\
Description          Units   Price per one   Total price   Tax rate   Total price with tax
Consulting           3       100.00          300.00        21 %       363.00
Licence              1       50.00           50.00         21 %       60.50
";
        let lines = read(&Layout::from_text(text), None, Some("423.50"), Some("73.50")).expect("a table");
        let amounts: Vec<_> = lines.rows.iter().map(|l| l.net_amount.clone().unwrap()).collect();
        assert_eq!(amounts, ["300.00", "50.00"]);
        assert_eq!(lines.rows[0].tax_rate.as_deref(), Some("21"));
        assert!(lines.sure, "{}", lines.evidence);
    }

    #[test]
    fn header_names_as_ocr_damages_them() {
        assert!(ocr_close("llose", "ilosc") && ocr_close("wartose", "wartosc") && ocr_close("quantlty", "quantity"));
        assert!(!ocr_close("qty", "qte") && !ocr_close("menge", "mengen1") && !ocr_close("netto", "neto1x"));
        assert_eq!(columns_in_as("llosé", true).first().map(|c| c.0), Some(Col::Quantity));
        assert!(columns_in("llosé").is_empty() && columns_in("Produkt").is_empty());
    }

    #[test]
    fn a_number_in_groups_is_one_token() {
        assert_eq!(tokens("12 2 374,68 EUR"), ["12", "2 374,68", "EUR"]);
        assert_eq!(tokens("Seminar  5"), ["Seminar", "5"]);
    }

    #[test]
    fn numbers_with_either_mark() {
        assert_eq!(number("1.234,50 €", ','), Some((Decimal::new(123450, 2), "€".into())));
        assert_eq!(number("2.5", ','), Some((Decimal::new(25, 1), String::new())));
        assert_eq!(number("2 374,68", ','), Some((Decimal::new(237468, 2), String::new())));
        assert_eq!(number("12 Stk", ','), Some((Decimal::new(12, 0), "Stk".into())));
        assert_eq!(number("1,000", '.'), Some((Decimal::new(1000, 0), String::new())));
        assert_eq!(number("3 pcs", '.'), Some((Decimal::new(3, 0), "pcs".into())));
        assert_eq!(number("-10.00", '.'), Some((Decimal::new(-1000, 2), String::new())));
        assert_eq!(number("12.03.2024", '.'), None);
        assert_eq!(number("Wartung", '.'), None);
    }

    #[test]
    fn text_that_is_no_table_has_no_lines() {
        let text = "Invoice no. 4711\nTotal   1,190.00 EUR\nThank you for your order of 3 items.\n";
        assert!(read(&Layout::from_text(text), None, Some("1190.00"), None).is_none());
    }
}
