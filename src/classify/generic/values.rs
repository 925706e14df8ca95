//! Values found beside labels, checked by their type: an amount with either decimal separator and
//! thousands marks, a date in numbers or with a month name in any of the eight languages, an
//! identifier, and the values that check themselves wherever they stand (IBAN mod 97, VAT
//! identifiers by country format and check digit, BIC, ISO currency codes).

use crate::invoice::codes;
use chrono::NaiveDate;
use regex::Regex;
use std::sync::OnceLock;

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("a valid pattern"))
}

/// An amount written as money: digits with thousands marks (`.`, `,`, space, `'`) and two
/// decimals, or whole digits; a currency code or symbol may stand beside it. `None` for anything
/// else, dates and percentages included.
pub fn amount(text: &str) -> Option<(String, bool)> {
    static AMOUNT: OnceLock<Regex> = OnceLock::new();
    let re = re(
        &AMOUNT,
        r"(?x)^[-−(]?\s*(?:[A-Z]{3}|[€$£]|zł|PLN|Fr\.)?\s*[-−]?
          (\d{1,3}(?:[.,'\u{a0}\u{202f}\x20]\d{3})+|\d+)(?:([.,])(\d{2}))?
          \s*(?:[A-Z]{3}|[€$£]|zł)?\s*[-)]?$",
    );
    let t = text.trim();
    let c = re.captures(t)?;
    let int = c.get(1)?.as_str();
    // "1.234" alone is a thousand or a number with three decimals: not money as printed.
    if c.get(2).is_none() && int.contains(['.', ',']) {
        return None;
    }
    // Recognised as money; normalised as every amount field is.
    let value = super::super::fields::amount(t, c.get(2).and_then(|s| s.as_str().chars().next())).ok()?;
    Some((value, c.get(3).is_some()))
}

/// `text` after a leading tax rate ("19%:", "(7 %)", "20,0 %"), and whether there was one.
pub fn after_rate(text: &str) -> (&str, bool) {
    static RATE: OnceLock<Regex> = OnceLock::new();
    let re = re(&RATE, r"^\s*\(?\d{1,2}(?:[.,]\d{1,2})?\s*%\)?\s*[:=]?\s*");
    match re.find(text) {
        Some(m) if m.end() < text.len() => (&text[m.end()..], true),
        _ => (text, false),
    }
}

/// The currency an amount's text names, as an ISO 4217 code.
pub fn currency_in(text: &str) -> Option<String> {
    // A code may be set against the number ("DKK1,000.00", as babel writes it for en_US).
    let words = text.split(|c: char| !c.is_alphanumeric() && !matches!(c, '€' | '$' | '£'));
    for w in words.flat_map(|w| w.split(|c: char| c.is_ascii_digit())) {
        match w {
            "€" => return Some("EUR".into()),
            "£" => return Some("GBP".into()),
            "zł" | "zl" => return Some("PLN".into()),
            w if w.len() == 3 && w.chars().all(|c| c.is_ascii_uppercase()) && codes::is_currency(w) => {
                return Some(w.to_string())
            }
            _ => {}
        }
    }
    text.contains('€').then(|| "EUR".to_string()).or_else(|| text.contains('£').then(|| "GBP".to_string()))
}

/// A date at the start of `text`, and whether its reading is certain (a numeric date whose day
/// and month could swap is not). Numbers are read day first, as every language here but
/// American English writes them; ISO `2024-03-12` is year first.
pub fn date(text: &str, day_first: bool) -> Option<(NaiveDate, bool)> {
    use chrono::Datelike;
    // An invoice's date lies within a lifetime of now: "0201-12-11" is a misread.
    date_as_written(text, day_first).filter(|(d, _)| (1990..=2100).contains(&d.year()))
}

fn date_as_written(text: &str, day_first: bool) -> Option<(NaiveDate, bool)> {
    static NUMERIC: OnceLock<Regex> = OnceLock::new();
    let t = text.trim();
    let numeric = re(&NUMERIC, r"^(\d{1,4})([./\-])(\d{1,2})[./\-](\d{2,4})\b");
    if let Some(c) = numeric.captures(t) {
        let n = |i: usize| c[i].parse::<i32>().ok();
        let (a, b, y) = (n(1)?, n(3)?, n(4)?);
        if c[1].len() == 4 {
            return NaiveDate::from_ymd_opt(a, b as u32, y as u32).map(|d| (d, true));
        }
        let year = if c[4].len() == 2 { 2000 + y } else { y };
        // Dots are Europe's: day first wherever they are written.
        let dots = &c[2] == ".";
        let (day, month) = if day_first || dots { (a, b) } else { (b, a) };
        let sure = dots || a > 12 || b > 12 || a == b;
        return NaiveDate::from_ymd_opt(year, month as u32, day as u32).map(|d| (d, sure));
    }
    // A month name: the first few words only (a label's value, not a sentence), as few as
    // carry the year ("13 de abr. de 2018" takes five). A date whose year is not written is no
    // invoice's date: the parser would take this year for it.
    let words: Vec<&str> = t.split_whitespace().take(6).collect();
    if !words.first().is_some_and(|w| w.chars().any(|c| c.is_ascii_alphanumeric())) {
        return None;
    }
    (2..=words.len()).find_map(|n| {
        let head = words[..n].join(" ");
        let d = super::super::dates::dateparser(&head, &[])?.date();
        use chrono::Datelike;
        let year = d.year().to_string();
        // The year written out, and a day beside the month ("April 2018" is no date).
        let numbers: Vec<&str> = head.split(|c: char| !c.is_ascii_digit()).filter(|w| !w.is_empty()).collect();
        (numbers.contains(&year.as_str()) && numbers.len() >= 2).then_some((d, true))
    })
}

/// An identifier (an invoice or order number): the first word with a digit in it, of at most 30
/// characters, that is neither a date nor an amount with decimals.
pub fn identifier(text: &str) -> Option<String> {
    let word = text.split_whitespace().next()?.trim_matches(|c: char| matches!(c, ':' | ',' | ';' | '.' | '(' | ')'));
    let word = word.trim_start_matches(['#', '°', 'º']);
    if word.is_empty() || word.len() > 30 || !word.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    if !word.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '/' | '_' | '.')) {
        return None;
    }
    if date(word, true).is_some() || amount(word).is_some_and(|(_, cents)| cents) {
        return None;
    }
    // "018304 / 28865": a number in two parts, a slash set apart between them.
    let mut rest = text.split_whitespace().skip(1);
    if let (Some("/"), Some(next)) = (rest.next(), rest.next()) {
        let next = next.trim_end_matches([':', ',', ';', '.', ')']);
        if next.len() <= 20 && next.chars().any(|c| c.is_ascii_digit()) && next.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_')) {
            return Some(format!("{word} / {next}"));
        }
    }
    Some(word.to_string())
}

/// Every valid IBAN in a line of text (spaces inside allowed, as printed in groups of four).
pub fn ibans(line: &str) -> Vec<String> {
    static IBAN: OnceLock<Regex> = OnceLock::new();
    let re = re(&IBAN, r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b");
    // Printed groups may run into the next word: the field type cuts to the country's length.
    re.find_iter(line).filter_map(|m| super::super::fields::iban(m.as_str()).ok()).collect()
}

/// The countries whose VAT identifiers carry a check digit `codes::vat_id_problem` computes;
/// another country's identifier found unlabelled could be any code of letters and digits.
const CHECKED: &[&str] =
    &["AT", "BE", "DE", "DK", "EE", "ES", "FI", "FR", "HR", "HU", "IT", "LU", "NL", "PL", "PT", "SE", "SI"];

/// Whether `text` (a cell) is the start of an IBAN a line break may have cut: a country code,
/// two check digits and at least four more letters or digits, nothing else.
pub fn starts_like_iban(text: &str) -> bool {
    static START: OnceLock<Regex> = OnceLock::new();
    re(&START, r"^[A-Z]{2}\d{2}(?:\s?[A-Z0-9]){4,30}$").is_match(text.trim())
}

/// Every VAT identifier in a line whose country format and check digit hold (and that is not
/// the start of an IBAN printed there: "GB29 NWBK 6016 1331 …").
pub fn vat_ids(line: &str) -> Vec<String> {
    static VAT: OnceLock<Regex> = OnceLock::new();
    let re = re(
        &VAT,
        r"\b(?:AT\s?U|BE|BG|CY|CZ|DE|DK|EE|EL|ES|FI|FR|GB|HR|HU|IE|IT|LT|LU|LV|MT|NL|PL|PT|RO|SE|SI|SK|XI)[\s.]?[0-9A-Z](?:[\s.]?[0-9A-Z]){6,13}\b",
    );
    let mut out = vec![];
    for m in re.find_iter(line) {
        let compact: String = m.as_str().chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        let checked = CHECKED.contains(&&compact[..2]) && codes::vat_id_problem(&compact).is_none();
        if compact.chars().skip(2).filter(char::is_ascii_digit).count() >= 7 && checked && !in_iban(line, &compact) {
            out.push(compact);
        }
    }
    out
}

/// Whether `id` is the start of an IBAN printed in `line`.
pub fn in_iban(line: &str, id: &str) -> bool {
    ibans(line).iter().any(|iban| iban.starts_with(id))
}

/// A tax identifier as a VAT label's value: letters and digits (spaces, dots and dashes inside
/// dropped), 8 to 16 of them, at least 6 digits; any country's.
pub fn tax_identifier(text: &str) -> Option<String> {
    // "13.04.2018" has eight digits and is a date (a VAT label's neighbour in a form).
    if date(text, true).is_some() {
        return None;
    }
    let mut id = String::new();
    for word in text.split_whitespace().take(5) {
        let w: String = word.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        if w.is_empty()
            || !word.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ','))
            || id.len() + w.len() > 16
        {
            break;
        }
        id.push_str(&w.to_uppercase());
    }
    let digits = id.chars().filter(char::is_ascii_digit).count();
    ((8..=16).contains(&id.len()) && digits >= 6).then_some(id)
}

/// A BIC at the start of `text`: bank, country, location and an optional branch.
pub fn bic(text: &str) -> Option<String> {
    static BIC: OnceLock<Regex> = OnceLock::new();
    let re = re(&BIC, r"^[A-Z]{4}([A-Z]{2})[A-Z0-9]{2}(?:[A-Z0-9]{3})?\b");
    let c = re.captures(text.trim())?;
    codes::is_country(&c[1]).then(|| c[0].to_string())
}

/// What a field's value is, for reading it from a cell and checking what an agent typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Date,
    Amount,
    Iban,
    VatId,
    Bic,
    Currency,
    /// An invoice or order number: kept as printed.
    Identifier,
}

impl Kind {
    pub fn of(field: &str) -> Kind {
        match field {
            "issue_date" | "due_date" => Kind::Date,
            "total" | "total_net" | "total_tax" | "amount_due" => Kind::Amount,
            "iban" => Kind::Iban,
            "seller_vat_id" | "buyer_vat_id" => Kind::VatId,
            "bic" => Kind::Bic,
            "currency" => Kind::Currency,
            _ => Kind::Identifier,
        }
    }

    /// The value `text` holds at its start, normalised as the reader writes it (ISO dates,
    /// amounts with a point, IBANs and VAT identifiers without spaces).
    pub fn read(self, text: &str, day_first: bool) -> Option<String> {
        match self {
            Kind::Date => date(text, day_first).map(|(d, _)| d.to_string()),
            Kind::Amount => amount(text).map(|(v, _)| v),
            Kind::Iban => ibans(text).into_iter().next(),
            Kind::VatId => vat_ids(text).into_iter().next().or_else(|| tax_identifier(text)),
            Kind::Bic => bic(text),
            Kind::Currency => currency_in(text),
            Kind::Identifier => identifier(text),
        }
    }

    /// What an agent typed, normalised; or what is wrong with it, in words.
    pub fn given(self, raw: &str) -> Result<String, String> {
        let t = raw.trim();
        if t.is_empty() {
            return Err("is empty".into());
        }
        let read = match self {
            // An agent may type an amount without cents, a date with its month named.
            Kind::Amount => amount(t).map(|(v, _)| v),
            Kind::Identifier => return Ok(t.to_string()),
            Kind::Currency => currency_in(&t.to_uppercase()),
            Kind::Iban | Kind::VatId | Kind::Bic => self.read(&t.to_uppercase(), true),
            Kind::Date => self.read(t, true),
        };
        read.ok_or_else(|| {
            match self {
                Kind::Date => "is not a date (write it as 2024-03-12 or 12.03.2024)",
                Kind::Amount => "is not an amount (write it as 1190.00 or 1.190,00)",
                Kind::Iban => "is not an IBAN whose check digits hold",
                Kind::VatId => "is not a VAT identifier (a country code and 8 to 14 letters and digits)",
                Kind::Bic => "is not a BIC (8 or 11 letters and digits, a country code at 5–6)",
                Kind::Currency => "is not an ISO 4217 currency code (EUR, USD, …)",
                Kind::Identifier => unreachable!("identifiers are kept as typed"),
            }
            .to_string()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_as_printed() {
        let a = |t: &str| amount(t).map(|(v, _)| v);
        assert_eq!(a("1.234,56").as_deref(), Some("1234.56"));
        assert_eq!(a("1,234.56 EUR").as_deref(), Some("1234.56"));
        assert_eq!(a("€ 1 234,56").as_deref(), Some("1234.56"));
        assert_eq!(a("-12,00").as_deref(), Some("-12.00"));
        assert_eq!(a("0,50").as_deref(), Some("0.50"));
        assert_eq!(a("215").as_deref(), Some("215"));
        assert_eq!(a("1.234"), None);
        assert_eq!(a("19%"), None);
        assert_eq!(a("12.03.2024"), None);
        assert_eq!(after_rate("19%: EUR 26.03"), ("EUR 26.03", true));
        assert_eq!(after_rate("(7 %) 1,40"), ("1,40", true));
        assert_eq!(after_rate("26.03"), ("26.03", false));
    }

    #[test]
    fn dates_numeric_and_named() {
        let d = |t: &str| date(t, true).map(|(d, sure)| (d.to_string(), sure));
        assert_eq!(d("12.03.2024"), Some(("2024-03-12".into(), true)));
        assert_eq!(d("03/04/2024"), Some(("2024-04-03".into(), false)));
        assert_eq!(d("2024-03-04"), Some(("2024-03-04".into(), true)));
        assert_eq!(d("12. März 2024"), Some(("2024-03-12".into(), true)));
        assert_eq!(d("5 février 2024"), Some(("2024-02-05".into(), true)));
        assert_eq!(d("RE-2024-17"), None);
        assert_eq!(d("13 de abr. de 2018"), Some(("2018-04-13".into(), true)));
        assert_eq!(d("Apr 4, 2016"), Some(("2016-04-04".into(), true)));
        // No year written: the parser would put this year in.
        assert_eq!(d("13 de abr."), None);
        assert_eq!(d("April 2018"), None);
    }

    #[test]
    fn identifiers_ibans_vat_ids_bics() {
        assert_eq!(identifier("RE-2024-17 vom").as_deref(), Some("RE-2024-17"));
        assert_eq!(identifier("#4711").as_deref(), Some("4711"));
        assert_eq!(identifier("12.03.2024"), None);
        assert_eq!(identifier("Muster"), None);
        assert_eq!(ibans("IBAN: DE89 3704 0044 0532 0130 00 BIC COBADEFFXXX"), ["DE89370400440532013000"]);
        assert!(ibans("DE89 3704 0044 0532 0130 01").is_empty());
        assert_eq!(vat_ids("USt-IdNr.: DE 136 695 976"), ["DE136695976"]);
        assert!(vat_ids("Pay by wire: IBAN GB29 NWBK 6016 1331 9268 19").is_empty());
        assert!(vat_ids("DE89 3704 0044 0532 0130 00").is_empty());
        assert_eq!(bic("COBADEFFXXX").as_deref(), Some("COBADEFFXXX"));
        assert_eq!(currency_in("1.190,00 €").as_deref(), Some("EUR"));
        assert_eq!(currency_in("DKK1,000.00").as_deref(), Some("DKK"));
        assert_eq!(currency_in("Vat in: HU30048650"), None);
    }

    #[test]
    fn what_an_agent_types_is_checked_by_the_fields_kind() {
        assert_eq!(Kind::of("total").given("1.190,00 €").as_deref(), Ok("1190.00"));
        assert_eq!(Kind::of("issue_date").given("12.03.2024").as_deref(), Ok("2024-03-12"));
        assert_eq!(Kind::of("iban").given("de89 3704 0044 0532 0130 00").as_deref(), Ok("DE89370400440532013000"));
        assert_eq!(Kind::of("invoice_number").given(" RE 17 ").as_deref(), Ok("RE 17"));
        assert!(Kind::of("iban").given("DE89 3704 0044 0532 0130 01").unwrap_err().contains("check digits"));
        assert!(Kind::of("total").given("soon").unwrap_err().contains("not an amount"));
    }
}
