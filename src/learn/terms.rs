//! A text as the learner sees it: lower-cased words of letters and digits, counted. Pure numbers
//! (amounts, dates, invoice numbers) change from one document to the next and are left out; a
//! word with a letter in it (a name, an IBAN, a product code) is kept.

use std::collections::HashMap;

/// Only this much of a text is read: a document's first pages say what it is.
pub use crate::store::filed::MAX_TEXT;
const MIN_LEN: usize = 2;
const MAX_LEN: usize = 40;

/// The words of `text` in order (up to [`MAX_TEXT`] bytes of it).
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    let text = &text[..floor_char_boundary(text, MAX_TEXT)];
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| {
            let n = w.chars().count();
            (MIN_LEN..=MAX_LEN).contains(&n) && w.chars().any(char::is_alphabetic)
        })
        .map(str::to_lowercase)
}

/// How often each word occurs.
pub fn counts(text: &str) -> HashMap<String, u32> {
    let mut counts = HashMap::new();
    for w in words(text) {
        *counts.entry(w).or_insert(0) += 1;
    }
    counts
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    (0..=max).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_single_letters_are_not_words() {
        let w: Vec<String> = words("Rechnung Nr. 2024-001 vom 12.05.2024, IBAN DE89370400440532013000 — Müller & Co KG a").collect();
        assert_eq!(w, ["rechnung", "nr", "vom", "iban", "de89370400440532013000", "müller", "co", "kg"]);
    }

    #[test]
    fn a_long_text_is_cut_at_a_character_boundary() {
        let text = "é".repeat(MAX_TEXT);
        assert_eq!(words(&text).count(), 0, "one word longer than 40 characters");
        assert!(floor_char_boundary(&text, MAX_TEXT) <= MAX_TEXT);
    }
}
