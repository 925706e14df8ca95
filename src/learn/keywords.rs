//! `clerk doctypes suggest TYPE`: the words and word pairs found in the documents agents filed
//! under a type and in no (or almost no) document of another type, chosen greedily so that
//! together they catch every filed document. Each proposal is then run as the rule it would be —
//! a `match: any:` regex for a `doctype:` type, a plain `keywords:` text for an invoice2data
//! template — and what it catches is counted, so the figures shown are the rule's own.

use super::terms;
use regex::{Regex, RegexBuilder};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// At most this many keywords are proposed.
pub const MAX_KEYWORDS: usize = 5;

#[derive(Debug, Clone, Serialize)]
pub struct Keyword {
    /// As a `match:` regex (case-insensitive, as `doctype:` matching is).
    pub pattern: String,
    /// As the filed documents spell it most often (an invoice2data keyword is plain,
    /// case-sensitive text).
    pub text: String,
    /// Filed documents and other documents the keyword (as a regex) is found in.
    pub filed: usize,
    pub others: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Proposal {
    pub keywords: Vec<Keyword>,
    /// How many documents were compared.
    pub filed: usize,
    pub others: usize,
    /// What the keywords catch together, as `match: any:` regexes and as plain keywords.
    pub regex_catches: Catch,
    pub text_catches: Catch,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Catch {
    pub filed: usize,
    pub others: usize,
}

/// Single words and pairs of neighbouring words, as the learner splits a text.
fn phrases(text: &str) -> HashSet<String> {
    let words: Vec<String> = terms::words(text).collect();
    let mut out: HashSet<String> = words.iter().cloned().collect();
    out.extend(words.windows(2).map(|w| format!("{} {}", w[0], w[1])));
    out
}

fn pattern(phrase: &str) -> String {
    let words: Vec<String> = phrase.split(' ').map(regex::escape).collect();
    format!(r"\b{}\b", words.join(r"\W+"))
}

fn compile(pattern: &str) -> Regex {
    RegexBuilder::new(pattern).case_insensitive(true).build().expect("escaped words make a valid regex")
}

/// Proposes keywords that tell `filed` (texts agents filed under the type) from `others`.
pub fn propose(filed: &[&str], others: &[&str]) -> Proposal {
    let filed_phrases: Vec<HashSet<String>> = filed.iter().map(|t| phrases(t)).collect();
    // A word of one filed document alone is chance, not a sign of the type (unless one is all
    // there is): a keyword is in at least two.
    let floor = filed.len().min(2);
    let mut in_filed: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, set) in filed_phrases.iter().enumerate() {
        for p in set {
            in_filed.entry(p.as_str()).or_default().push(i);
        }
    }
    in_filed.retain(|_, docs| docs.len() >= floor);
    let mut in_others: HashMap<&str, usize> = in_filed.keys().map(|p| (*p, 0)).collect();
    for t in others {
        for p in phrases(t) {
            if let Some(n) = in_others.get_mut(p.as_str()) {
                *n += 1;
            }
        }
    }
    // Another type's document may share a word by chance; more than 1 % of them is a pattern.
    let tolerated = others.len() / 100;
    let mut candidates: Vec<(&str, &Vec<usize>, usize)> = in_filed
        .iter()
        .map(|(p, docs)| (*p, docs, in_others[p]))
        .filter(|(_, _, o)| *o <= tolerated)
        .collect();
    // Deterministic order for ties: fewer false catches, then pairs (names) before single words.
    candidates.sort_by(|a, b| {
        (a.2, std::cmp::Reverse(a.0.contains(' ')), a.0).cmp(&(b.2, std::cmp::Reverse(b.0.contains(' ')), b.0))
    });
    let mut covered = vec![false; filed.len()];
    let mut chosen: Vec<&str> = Vec::new();
    while chosen.len() < MAX_KEYWORDS && covered.iter().any(|c| !c) {
        let gain = |docs: &Vec<usize>| docs.iter().filter(|d| !covered[**d]).count();
        // The first in the sorted order among those that catch the most not caught yet.
        let mut best = None;
        let mut best_gain = 0;
        for c in &candidates {
            let g = gain(c.1);
            if g > best_gain {
                (best, best_gain) = (Some(c), g);
            }
        }
        let Some(&(phrase, docs, _)) = best else { break };
        for d in docs.iter() {
            covered[*d] = true;
        }
        chosen.push(phrase);
    }

    let keywords: Vec<Keyword> = chosen
        .iter()
        .map(|phrase| {
            let pattern = pattern(phrase);
            let re = compile(&pattern);
            let text = most_common_spelling(&re, filed).unwrap_or_else(|| phrase.to_string());
            Keyword {
                filed: filed.iter().filter(|t| re.is_match(t)).count(),
                others: others.iter().filter(|t| re.is_match(t)).count(),
                pattern,
                text,
            }
        })
        .collect();
    let regexes: Vec<Regex> = keywords.iter().map(|k| compile(&k.pattern)).collect();
    let by_regex = |texts: &[&str]| texts.iter().filter(|t| regexes.iter().any(|r| r.is_match(t))).count();
    let by_text = |texts: &[&str]| texts.iter().filter(|t| keywords.iter().any(|k| t.contains(k.text.as_str()))).count();
    Proposal {
        filed: filed.len(),
        others: others.len(),
        regex_catches: Catch { filed: by_regex(filed), others: by_regex(others) },
        text_catches: Catch { filed: by_text(filed), others: by_text(others) },
        keywords,
    }
}

/// The exact text `re` finds most often in `texts` (ties: the first seen).
fn most_common_spelling(re: &Regex, texts: &[&str]) -> Option<String> {
    let mut seen: Vec<(String, usize)> = Vec::new();
    for t in texts {
        if let Some(m) = re.find(t) {
            match seen.iter_mut().find(|(s, _)| s == m.as_str()) {
                Some(e) => e.1 += 1,
                None => seen.push((m.as_str().to_string(), 1)),
            }
        }
    }
    seen.iter().fold(None::<&(String, usize)>, |b, e| if b.is_none_or(|b| e.1 > b.1) { Some(e) } else { b }).map(|e| e.0.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_of_the_filed_documents_only_are_proposed_and_counted_as_rules() {
        let filed = [
            "ACME Widgets GmbH\nRechnung 1\nSumme 10,00",
            "ACME  Widgets GmbH\nRechnung 2\nSumme 12,00",
            "Acme Widgets GmbH — Gutschrift 3",
        ];
        let others = ["Globex Rechnung 4 Summe 9,00", "Initech invoice 5 total 3.00", "Globex Rechnung 6"];
        let p = propose(&filed, &others);
        assert_eq!(p.keywords.len(), 1, "{p:?}");
        let k = &p.keywords[0];
        assert_eq!(k.pattern, r"\bacme\W+widgets\b");
        assert_eq!((k.filed, k.others), (3, 0));
        assert_eq!(k.text, "ACME Widgets");
        assert_eq!((p.regex_catches.filed, p.regex_catches.others), (3, 0));
        // As plain case-sensitive text it misses the two spelled otherwise.
        assert_eq!(p.text_catches.filed, 1);
    }

    #[test]
    fn several_keywords_cover_documents_with_nothing_in_common() {
        let filed = ["Lampiris facture d'acompte", "Lampiris factuur", "Proximus Belgium bill", "Proximus bill"];
        let p = propose(&filed, &["Engie facture", "Engie bill"]);
        let words: Vec<&str> = p.keywords.iter().map(|k| k.text.as_str()).collect();
        assert_eq!(words, ["Lampiris", "Proximus"]);
        assert_eq!(p.regex_catches.filed, 4);
    }

    #[test]
    fn nothing_is_proposed_from_nothing() {
        let p = propose(&[], &["anything"]);
        assert!(p.keywords.is_empty());
    }
}
