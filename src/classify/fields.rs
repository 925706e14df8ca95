//! Field values: the first capture group of a field's regex, normalised by the field's type.
//! Every normaliser returns `Err(reason)` with a sentence an agent understands.

use chrono::NaiveDate;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    String,
    Integer,
    Amount,
    Date,
    Iban,
}

impl FieldType {
    pub const NAMES: &'static [&'static str] = &["string", "integer", "amount", "date", "iban"];

    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "string" | "str" | "text" => Self::String,
            "integer" | "int" => Self::Integer,
            "amount" | "float" | "money" | "decimal" => Self::Amount,
            "date" => Self::Date,
            "iban" => Self::Iban,
            _ => return None,
        })
    }
}

/// Date formats tried when a date field names none, in this order (day-first before month-first,
/// as most of the world writes dates).
pub const DEFAULT_DATE_FORMATS: &[&str] = &[
    "%Y-%m-%d",
    "%d.%m.%Y",
    "%d/%m/%Y",
    "%d-%m-%Y",
    "%d %B %Y",
    "%d %b %Y",
    "%B %d, %Y",
    "%b %d, %Y",
    "%B %d %Y",
    "%b %d %Y",
    "%d. %B %Y",
    "%Y/%m/%d",
    "%d.%m.%y",
    "%m/%d/%Y",
];

/// A field's value, and what was left of the text found around it (OCR speckles after a date:
/// `2025-10-08 a . 7 .`), for people to see rather than have it silently dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalised {
    pub value: String,
    pub ignored: Option<String>,
}

pub fn normalise(
    ty: FieldType,
    raw: &str,
    date_formats: &[String],
    decimal_separator: Option<char>,
) -> Result<Normalised, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err("the text found is empty".into());
    }
    let whole = |v: String| Normalised { value: v, ignored: None };
    match ty {
        FieldType::String => Ok(whole(value.to_string())),
        FieldType::Integer => integer(value).map(whole),
        FieldType::Amount => amount_within(value, decimal_separator),
        FieldType::Date => date_within(value, date_formats),
        FieldType::Iban => iban(value).map(whole),
    }
}

const MAX_DATE_WORDS: usize = 4;

/// The date a longer text holds: the whole text when it is one, else the longest run of its
/// words that is (one date only: two different ones are no answer), the rest reported.
pub fn date_within(value: &str, formats: &[String]) -> Result<Normalised, String> {
    let whole_err = match date(value, formats) {
        Ok(v) => return Ok(Normalised { value: v, ignored: None }),
        Err(e) => e,
    };
    let words: Vec<&str> = value.split_whitespace().collect();
    // A date is at most four words ("Monday, 3 March 2024"): runs no longer than that are tried,
    // so a long capture costs a few parses a word, not one per pair of words.
    for len in (1..words.len().min(MAX_DATE_WORDS + 1)).rev() {
        let found: Vec<(usize, String)> = (0..=words.len() - len)
            .filter(|&at| words[at..at + len].iter().any(|w| w.chars().any(|c| c.is_ascii_digit())))
            .filter_map(|at| Some((at, date(&words[at..at + len].join(" "), formats).ok()?)))
            .collect();
        let Some((at, first)) = found.first().cloned() else { continue };
        if found.iter().any(|(_, d)| *d != first) {
            return Err(format!("{value:?} holds more than one date"));
        }
        let rest: Vec<&str> =
            words[..at].iter().chain(&words[at + len..]).copied().filter(|w| !matches!(*w, "," | ";")).collect();
        return Ok(Normalised { value: first, ignored: Some(rest.join(" ")) });
    }
    Err(whole_err)
}

/// One number as amounts are written: digits grouped by thousands (`1 234,56`, `1'234.50`,
/// `1.234.567`) with decimals, or plain digits with decimals.
fn number_regex() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"\d{1,3}(?:[ '\u{a0}\u{202f}.,]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?").unwrap()
    })
}

/// The amount a longer text holds: its first number, with a sign or a currency around it; other
/// numbers or words after it (OCR noise, a footnote mark) are reported, not read into the amount.
pub fn amount_within(value: &str, decimal_separator: Option<char>) -> Result<Normalised, String> {
    let numbers: Vec<regex::Match> = number_regex().find_iter(value).collect();
    let Some(first) = numbers.first() else { return amount(value, decimal_separator).map(|v| Normalised { value: v, ignored: None }) };
    let (before, after) = (&value[..first.start()], &value[first.end()..]);
    // What may stand around an amount: a currency (code or symbol), a sign, brackets.
    let harmless = |w: &str| {
        let w = w.trim_matches(|c: char| matches!(c, '(' | ')' | '-' | '−' | '+' | ':' | '*'));
        w.is_empty()
            || (w.len() <= 3 && w.chars().all(|c| c.is_ascii_uppercase()))
            || w.chars().all(|c| matches!(c, '€' | '$' | '£' | '¥' | '₹' | '₽' | '₺' | '₩' | '₪' | '.'))
            || matches!(w, "Fr." | "Fr" | "kr" | "kr." | "zł" | "Kč" | "Ft" | "lei")
    };
    let junk: Vec<&str> = after.split_whitespace().filter(|w| !harmless(w)).collect();
    if junk.is_empty() && before.split_whitespace().all(harmless) {
        return amount(value, decimal_separator).map(|v| Normalised { value: v, ignored: None });
    }
    // The number and the sign or brackets that belong to it.
    let negative = before.trim_end().ends_with(['-', '−', '(']) || after.starts_with('-');
    let number = format!("{}{}", if negative { "-" } else { "" }, first.as_str());
    let v = amount(&number, decimal_separator)?;
    let mut ignored: Vec<&str> = before.split_whitespace().filter(|w| !harmless(w)).collect();
    if !junk.is_empty() {
        ignored.push(after.trim());
    }
    Ok(Normalised { value: v, ignored: (!ignored.is_empty()).then(|| ignored.join(" ")) })
}

fn integer(value: &str) -> Result<String, String> {
    let digits: String =
        value.chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\'' | ',' | '.')).collect();
    digits.parse::<i64>().map(|n| n.to_string()).map_err(|_| format!("{value:?} is not a whole number"))
}

/// `1.234,56`, `1,234.56`, `1 234,56`, `CHF 1'234.50`, `(12.00)` and `12.00-` all become plain
/// decimal strings (`1234.56`, `-12.00`): never a float, so no cent is ever lost to rounding.
pub fn amount(value: &str, decimal_separator: Option<char>) -> Result<String, String> {
    let mut negative =
        value.starts_with('-') || value.ends_with('-') || (value.starts_with('(') && value.ends_with(')'));
    let mut body: String = String::new();
    for c in value.chars() {
        match c {
            '0'..='9' | '.' | ',' => body.push(c),
            '−' => negative = true,
            _ => {}
        }
    }
    let body = body.trim_matches(|c| c == '.' || c == ',');
    if !body.chars().any(|c| c.is_ascii_digit()) {
        return Err(format!("{value:?} is not an amount"));
    }
    let decimal = match decimal_separator {
        Some(sep) => Some(sep),
        None => guess_decimal_separator(body),
    };
    let mut out = String::new();
    let mut seen_decimal = false;
    for c in body.chars() {
        if c.is_ascii_digit() {
            out.push(c);
        } else if Some(c) == decimal {
            if seen_decimal {
                return Err(format!("{value:?} has more than one decimal separator"));
            }
            seen_decimal = true;
            out.push('.');
        }
    }
    let (int, frac) = out.split_once('.').unwrap_or((&out, ""));
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let mut result = if frac.is_empty() { int.to_string() } else { format!("{int}.{frac}") };
    if negative && result.chars().any(|c| c.is_ascii_digit() && c != '0') {
        result.insert(0, '-');
    }
    Ok(result)
}

/// The last of `.`/`,` is the decimal separator when both appear; a lone separator followed by
/// exactly three digits, or one that appears twice, groups thousands.
fn guess_decimal_separator(body: &str) -> Option<char> {
    let last = body.rfind(['.', ','])?;
    let sep = body[last..].chars().next()?;
    let other = if sep == '.' { ',' } else { '.' };
    if body.contains(other) {
        return Some(sep);
    }
    let count = body.matches(sep).count();
    let digits_after = body.len() - last - 1;
    if count > 1 || digits_after == 3 {
        None
    } else {
        Some(sep)
    }
}

pub fn date(value: &str, formats: &[String]) -> Result<String, String> {
    let cleaned = value.trim_matches(|c: char| c.is_whitespace() || c == ',' || c == ';');
    // Tolerate ordinal suffixes ("March 3rd, 2024") and doubled spaces from layout text.
    let cleaned = collapse_spaces(&strip_ordinals(cleaned));
    let parse = |f: &str| NaiveDate::parse_from_str(&cleaned, f).ok();
    let found = if formats.is_empty() {
        DEFAULT_DATE_FORMATS.iter().find_map(|f| parse(f))
    } else {
        formats.iter().find_map(|f| parse(f))
    };
    match found {
        Some(d) => Ok(d.format("%Y-%m-%d").to_string()),
        None if formats.is_empty() => Err(format!("{value:?} is not a date in any known format")),
        None => Err(format!("{value:?} is not a date in the formats {}", formats.join(", "))),
    }
}

fn collapse_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn strip_ordinals(s: &str) -> String {
    let re = ordinal_regex();
    re.replace_all(s, "$1").into_owned()
}

fn ordinal_regex() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"\b(\d{1,2})(?:st|nd|rd|th)\b").unwrap())
}

/// Length of an IBAN per country (ISO 13616 registry), used to cut off text that a greedy regex
/// captured after the IBAN and to reject a wrong length with a clear reason.
fn iban_length(country: &str) -> Option<usize> {
    Some(match country {
        "NO" => 15,
        "BE" => 16,
        "DK" | "FI" | "FO" | "GL" | "NL" => 18,
        "MK" | "SI" => 19,
        "AT" | "BA" | "EE" | "KZ" | "LT" | "LU" | "XK" => 20,
        "CH" | "CR" | "HR" | "LI" | "LV" => 21,
        "BG" | "BH" | "DE" | "GB" | "GE" | "IE" | "ME" | "RS" => 22,
        "AE" | "GI" | "IL" | "TL" => 23,
        "AD" | "CZ" | "ES" | "MD" | "PK" | "RO" | "SA" | "SE" | "SK" | "TN" | "VG" => 24,
        "PT" => 25,
        "IS" | "TR" => 26,
        "FR" | "GR" | "IT" | "MC" | "MR" | "SM" => 27,
        "AL" | "AZ" | "CY" | "DO" | "GT" | "HU" | "LB" | "PL" => 28,
        "BR" | "PS" | "QA" => 29,
        "JO" | "KW" | "MU" => 30,
        "MT" => 31,
        _ => return None,
    })
}

pub fn iban(value: &str) -> Result<String, String> {
    let mut compact: String =
        value.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_uppercase();
    if compact.len() < 4 || !compact[..2].chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(format!("{value:?} is not an IBAN (it must start with a country code)"));
    }
    if let Some(len) = iban_length(&compact[..2]) {
        if compact.len() < len {
            return Err(format!("{value:?} is too short for an IBAN of {} ({len} characters)", &compact[..2]));
        }
        compact.truncate(len);
    } else if compact.len() > 34 {
        return Err(format!("{value:?} is longer than any IBAN"));
    }
    if !compact[2..4].chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("{value:?} is not an IBAN (check digits missing)"));
    }
    let rearranged = compact[4..].chars().chain(compact[..4].chars());
    let mut remainder: u32 = 0;
    for c in rearranged {
        let n = c.to_digit(36).expect("alphanumeric");
        remainder = if n >= 10 { (remainder * 100 + n) % 97 } else { (remainder * 10 + n) % 97 };
    }
    if remainder != 1 {
        return Err(format!("{compact} fails the IBAN checksum (a digit is probably misread or mistyped)"));
    }
    Ok(compact)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_in_every_common_notation() {
        assert_eq!(amount("1.234,56", None).unwrap(), "1234.56");
        assert_eq!(amount("1,234.56", None).unwrap(), "1234.56");
        assert_eq!(amount("EUR 1 234,56", None).unwrap(), "1234.56");
        assert_eq!(amount("CHF 1'234.50", None).unwrap(), "1234.50");
        assert_eq!(amount("1,234", None).unwrap(), "1234");
        assert_eq!(amount("12,5", None).unwrap(), "12.5");
        assert_eq!(amount("(12.00)", None).unwrap(), "-12.00");
        assert_eq!(amount("1.234", Some('.')).unwrap(), "1.234");
        assert_eq!(amount("0.50", None).unwrap(), "0.50");
        assert!(amount("n/a", None).is_err());
    }

    #[test]
    fn a_typed_value_is_found_inside_ocr_noise_and_the_noise_is_reported() {
        let d = date_within("2025-10-08 a . 7 .", &[]).unwrap();
        assert_eq!(d, Normalised { value: "2025-10-08".into(), ignored: Some("a . 7 .".into()) });
        let d = date_within("| 3 March 2024 ,", &[]).unwrap();
        assert_eq!((d.value.as_str(), d.ignored.as_deref()), ("2024-03-03", Some("|")));
        assert_eq!(date_within("03.04.2024", &[]).unwrap().ignored, None);
        assert!(date_within("03.04.2024 or 05.06.2024", &[]).unwrap_err().contains("more than one date"));
        assert!(date_within("no date here", &[]).is_err());
        let long = format!("{} 2025-10-08 {}", "noise ".repeat(20_000), "more ".repeat(20_000));
        assert_eq!(date_within(&long, &[]).unwrap().value, "2025-10-08");
        let a = amount_within("12.50 a . 7 .", None).unwrap();
        assert_eq!(a, Normalised { value: "12.50".into(), ignored: Some("a . 7 .".into()) });
        assert_eq!(amount_within("EUR 1 234,56", None).unwrap(), Normalised { value: "1234.56".into(), ignored: None });
        assert_eq!(amount_within("(12.00)", None).unwrap().value, "-12.00");
        assert_eq!(amount_within("- 45,00 € ²", None).unwrap().value, "-45.00");
        assert_eq!(amount_within("CHF 1'234.50", None).unwrap().ignored, None);
    }

    #[test]
    fn dates_normalise_to_iso() {
        let f = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(date("03.04.2024", &f(&["%d.%m.%Y"])).unwrap(), "2024-04-03");
        assert_eq!(date("March 3rd, 2024", &[]).unwrap(), "2024-03-03");
        assert_eq!(date("2024-02-30", &[]).unwrap_err(), "\"2024-02-30\" is not a date in any known format");
    }

    #[test]
    fn iban_checksum_and_trailing_text() {
        assert_eq!(iban("DE89 3704 0044 0532 0130 00").unwrap(), "DE89370400440532013000");
        assert_eq!(iban("DE89 3704 0044 0532 0130 00 BIC COBADEFFXXX").unwrap(), "DE89370400440532013000");
        assert!(iban("DE89 3704 0044 0532 0130 01").unwrap_err().contains("checksum"));
        assert!(iban("hello").is_err());
    }
}
