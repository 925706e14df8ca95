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

pub fn normalise(
    ty: FieldType,
    raw: &str,
    date_formats: &[String],
    decimal_separator: Option<char>,
) -> Result<String, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err("the text found is empty".into());
    }
    match ty {
        FieldType::String => Ok(value.to_string()),
        FieldType::Integer => integer(value),
        FieldType::Amount => amount(value, decimal_separator),
        FieldType::Date => date(value, date_formats),
        FieldType::Iban => iban(value),
    }
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
