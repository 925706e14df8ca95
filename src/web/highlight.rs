//! Where a field's value is on the page: the words (text layer or OCR, in points) whose text is
//! the value, so the item page can draw a box around each found field. Values are normalised
//! (an amount `1250.00` was `1.250,00` on the page, a date `2024-07-01` was `01.07.2024`), so
//! words are compared by their letters and digits, and numbers and dates by their digits.

use crate::classify::{Fields, PageBoxes};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Mark {
    pub field: String,
    pub page: u32,
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
}

/// A value spans at most this many words.
const MAX_WORDS: usize = 8;

fn letters(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// The forms a value may have on the page, compared by `letters`.
fn targets(value: &str) -> Vec<String> {
    let mut out = vec![letters(value)];
    let d = digits(value);
    // An ISO date may be written day first, month first, or with a two-digit year.
    let parts: Vec<&str> = value.split('-').collect();
    if let [y, m, day] = parts.as_slice() {
        if y.len() == 4 && m.len() == 2 && day.len() == 2 && d.len() == 8 {
            out.extend([format!("{day}{m}{y}"), format!("{m}{day}{y}"), format!("{day}{m}{}", &y[2..])]);
        }
    }
    // An amount may carry other separators or a currency sign on the page.
    if d.len() >= 2 && value.chars().all(|c| c.is_ascii_digit() || ".,-".contains(c)) {
        out.push(d.clone());
        if let Some(whole) = d.strip_suffix("00").filter(|_| value.contains('.')) {
            out.push(whole.to_string());
        }
    }
    out.retain(|t| !t.is_empty());
    out
}

/// Every scalar field's first place on the pages.
pub fn marks(fields: &Fields, pages: &[PageBoxes]) -> Vec<Mark> {
    let mut out = Vec::new();
    for (name, value) in fields {
        let text = match value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => continue,
        };
        let wanted = targets(&text);
        if wanted.iter().all(|t| t.len() < 2) {
            continue;
        }
        'pages: for (page, words) in pages {
            for i in 0..words.len() {
                let mut joined = String::new();
                let mut joined_digits = String::new();
                for k in i..words.len().min(i + MAX_WORDS) {
                    joined.push_str(&letters(&words[k].text));
                    joined_digits.push_str(&digits(&words[k].text));
                    // By digits, the span must start with one (not at the label before it) and
                    // hold little else (a currency code).
                    let by_digits = |t: &String| {
                        t.chars().all(|c| c.is_ascii_digit())
                            && *t == joined_digits
                            && words[i].text.chars().any(|c| c.is_ascii_digit())
                            && joined.len() <= t.len() + 4
                    };
                    let hit = wanted.iter().any(|t| *t == joined || by_digits(t));
                    if hit {
                        let span = &words[i..=k];
                        out.push(Mark {
                            field: name.clone(),
                            page: *page,
                            x0: span.iter().map(|w| w.x0).fold(f64::MAX, f64::min),
                            y0: span.iter().map(|w| w.y0).fold(f64::MAX, f64::min),
                            x1: span.iter().map(|w| w.x1).fold(f64::MIN, f64::max),
                            y1: span.iter().map(|w| w.y1).fold(f64::MIN, f64::max),
                        });
                        break 'pages;
                    }
                    if wanted.iter().all(|t| joined.len() > t.len() + 4) {
                        break;
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::TextBox;

    fn word(x0: f64, text: &str) -> TextBox {
        TextBox { x0, y0: 100.0, x1: x0 + 40.0, y1: 110.0, text: text.into() }
    }

    #[test]
    fn normalised_values_are_found_as_the_page_wrote_them() {
        let page = vec![
            word(10.0, "Invoice"),
            word(60.0, "U-17"),
            word(110.0, "Date:"),
            word(160.0, "01.07.2024"),
            word(210.0, "Total"),
            word(260.0, "EUR"),
            word(310.0, "1.250,00"),
            word(360.0, "ACME"),
            word(410.0, "GmbH"),
        ];
        let fields: Fields = serde_json::from_value(serde_json::json!({
            "invoice_number": "U-17", "date": "2024-07-01", "total": "1250.00", "vendor": "ACME GmbH",
            "lines": [{"a": 1}], "missing": "nowhere"
        }))
        .unwrap();
        let found = marks(&fields, &[(1, page)]);
        let at: Vec<(&str, f64, f64)> = found.iter().map(|m| (m.field.as_str(), m.x0, m.x1)).collect();
        assert_eq!(
            at,
            [("date", 160.0, 200.0), ("invoice_number", 60.0, 100.0), ("total", 310.0, 350.0), ("vendor", 360.0, 450.0)]
        );
    }
}
