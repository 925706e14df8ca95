//! Python's `re` dialect, as invoice2data templates are written in it. A pattern is translated to
//! Rust's `regex` syntax (the fast engine, which has no backtracking); the few constructs only a
//! backtracking engine has (look-around, back-references, Python's `$` before a final newline)
//! send that one pattern to `fancy-regex` instead. Patterns are checked when a template loads
//! and compiled on first use, and identical patterns share one compiled engine, so loading 200
//! templates costs little until a document needs them.

use regex_automata::meta;
use regex_automata::{Input, PatternID};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// A Python regex, ready to run.
#[derive(Debug)]
pub struct PyRegex {
    /// As written in the template (for messages and as the cache key).
    pub source: String,
    translated: String,
    fancy: bool,
    /// Capture groups (not counting the whole match) and the named ones, known from the parse,
    /// so checking a replacement compiles nothing.
    groups: usize,
    named: Vec<(String, usize)>,
    /// The same for a backtracking pattern, known once it compiles.
    fancy_named: OnceLock<Vec<(String, usize)>>,
    compiled: OnceLock<Engine>,
    /// The fast engine with its lazy DFA, for long texts.
    for_long_texts: OnceLock<meta::Regex>,
}

#[derive(Debug)]
enum Engine {
    Fast(meta::Regex),
    Fancy(fancy_regex::Regex),
}

/// The fast engine, built for how a template's pattern is used: compiled when a document first
/// needs it, then run a few times on a few kilobytes. `regex`'s defaults would also build a
/// one-pass DFA and a reverse NFA for its lazy DFA; for the Unicode classes Python's `\w`, `\d`
/// and `\s` stand for, those cost more to build (two thirds of compiling a template) and to keep
/// than they save on an invoice's text. A long text gets a second build with the lazy DFA.
fn fast(pattern: &str, long_texts: bool) -> Result<meta::Regex, Box<meta::BuildError>> {
    let config = meta::Config::new().onepass(false).hybrid(long_texts).nfa_size_limit(Some(32 << 20));
    meta::Builder::new().configure(config).build(pattern).map_err(Box::new)
}

/// Texts longer than this are searched with the lazy DFA (see [`fast`]).
const LONG_TEXT: usize = 32 << 10;

fn never() -> meta::Regex {
    fast("[^\\s\\S]", false).expect("never matches")
}

/// One match: the span of each group (0 = the whole match), and the group names.
pub struct Found<'t> {
    text: &'t str,
    spans: Vec<Option<(usize, usize)>>,
    re: &'t PyRegex,
}

impl<'t> Found<'t> {
    pub fn start(&self) -> usize {
        self.spans[0].map(|s| s.0).unwrap_or(0)
    }
    pub fn end(&self) -> usize {
        self.spans[0].map(|s| s.1).unwrap_or(0)
    }
    pub fn group(&self, i: usize) -> Option<&'t str> {
        self.spans.get(i).copied().flatten().map(|(a, b)| &self.text[a..b])
    }
    /// Python's `match.groupdict()`: named groups in pattern order, None when a group took no part.
    pub fn groupdict(&self) -> Vec<(String, Option<&'t str>)> {
        self.re.names().iter().map(|(name, i)| (name.clone(), self.group(*i))).collect()
    }
}

/// How long a backtracking pattern may search one text for all its matches.
const FANCY_BUDGET: std::time::Duration = std::time::Duration::from_secs(1);

/// Shared compiled patterns, keyed by source: templates repeat many patterns.
fn interned() -> &'static Mutex<HashMap<String, Arc<PyRegex>>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<PyRegex>>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

impl PyRegex {
    /// Checks `source` and returns it ready to compile on first use. The error is a sentence
    /// about the pattern, with the byte offset in `source` where that is known.
    pub fn new(source: &str) -> Result<Arc<PyRegex>, (String, Option<usize>)> {
        if let Some(re) = interned().lock().unwrap_or_else(|e| e.into_inner()).get(source) {
            return Ok(re.clone());
        }
        let (translated, fancy) = translate(source)?;
        let (mut groups, mut named) = (0, vec![]);
        if fancy {
            // The backtracking engine's own syntax is checked now, the rest when it compiles.
            if let Err(e) = fancy_regex::Expr::parse_tree(&translated) {
                return Err((format!("neither regex engine can run this pattern: {e}"), None));
            }
        } else {
            // The syntax only: compiling (and translating to its final form) waits for first use,
            // so 200 templates load in milliseconds.
            match regex_syntax::ast::parse::Parser::new().parse(&translated) {
                Ok(ast) => captures(&ast, &mut groups, &mut named),
                Err(e) => {
                    let at = map_offset(source, &translated, e.span().start.offset);
                    return Err((describe(e.kind().to_string()), Some(at)));
                }
            }
        }
        let re = Arc::new(PyRegex { source: source.to_string(), translated, fancy, groups, named, fancy_named: OnceLock::new(), compiled: OnceLock::new(), for_long_texts: OnceLock::new() });
        interned().lock().unwrap_or_else(|e| e.into_inner()).insert(source.to_string(), re.clone());
        Ok(re)
    }

    fn engine(&self) -> &Engine {
        self.compiled.get_or_init(|| {
            if self.fancy {
                match fancy_regex::RegexBuilder::new(&self.translated).backtrack_limit(1_000_000).build() {
                    Ok(r) => Engine::Fancy(r),
                    Err(e) => {
                        // Its syntax passed at load; a part only compiling finds wrong never matches.
                        tracing::error!(pattern = %self.source, error = %e, "a template's regex cannot run; it never matches");
                        Engine::Fast(never())
                    }
                }
            } else {
                Engine::Fast(fast(&self.translated, false).unwrap_or_else(|e| {
                    // Its syntax passed at load; what only compiling finds (a pattern too large)
                    // never matches, loudly.
                    tracing::error!(pattern = %self.source, error = %e, "a template's regex cannot run; it never matches");
                    never()
                }))
            }
        })
    }

    /// Named groups and their indices.
    fn names(&self) -> &[(String, usize)] {
        if !self.fancy {
            return &self.named;
        }
        self.fancy_named.get_or_init(|| {
            let names: Vec<Option<&str>> = match self.engine() {
                Engine::Fast(r) => r.group_info().pattern_names(PatternID::ZERO).collect(),
                Engine::Fancy(r) => r.capture_names().collect(),
            };
            names.into_iter().enumerate().filter_map(|(i, n)| n.map(|n| (n.to_string(), i))).collect()
        })
    }

    /// Number of capture groups, not counting the whole match.
    pub fn groups(&self) -> usize {
        if !self.fancy {
            return self.groups;
        }
        match self.engine() {
            Engine::Fast(r) => r.group_info().group_len(PatternID::ZERO) - 1,
            Engine::Fancy(r) => r.captures_len() - 1,
        }
    }

    /// The first match at or after `from`.
    pub fn search_at<'t>(&'t self, text: &'t str, from: usize) -> Option<Found<'t>> {
        let spans = match self.engine() {
            Engine::Fast(short) => {
                let r = match text.len() > LONG_TEXT {
                    true => self.for_long_texts.get_or_init(|| fast(&self.translated, true).unwrap_or_else(|_| never())),
                    false => short,
                };
                // The text before `from` still counts for `^`, `\b` and the like.
                let mut c = r.create_captures();
                r.search_captures(&Input::new(text).range(from..), &mut c);
                if !c.is_match() {
                    return None;
                }
                c.iter().map(|m| m.map(|m| (m.start, m.end))).collect()
            }
            // A pattern that backtracks past its limit counts as no match, as a hung regex must
            // not hang the daemon.
            Engine::Fancy(r) => {
                let c = r.captures_from_pos(text, from).ok()??;
                c.iter().map(|m| m.map(|m| (m.start(), m.end()))).collect()
            }
        };
        Some(Found { text, spans, re: self })
    }

    pub fn search<'t>(&'t self, text: &'t str) -> Option<Found<'t>> {
        self.search_at(text, 0)
    }

    /// Every non-overlapping match, left to right (Python's `finditer`). A backtracking pattern
    /// stops after `FANCY_BUDGET` with what it found: each search is bounded by the backtracking
    /// limit, but a document could hold a great many slow matches, and classifying runs in the
    /// daemon.
    pub fn find_iter<'t>(&'t self, text: &'t str) -> Vec<Found<'t>> {
        let mut out = vec![];
        let mut at = 0;
        let deadline = self.fancy.then(|| std::time::Instant::now() + FANCY_BUDGET);
        while at <= text.len() {
            if deadline.is_some_and(|d| std::time::Instant::now() > d) {
                tracing::warn!(pattern = %self.source, "a template's regex ran out of time on this document; its later matches are not used");
                break;
            }
            let Some(m) = self.search_at(text, at) else { break };
            let (s, e) = (m.start(), m.end());
            at = if e == s { next_char(text, e) } else { e };
            out.push(m);
        }
        out
    }

    /// Python's `findall` for a pattern of at most one group: the group's text (or the whole
    /// match without groups). None when the pattern has several groups (invoice2data refuses).
    pub fn findall<'t>(&'t self, text: &'t str) -> Option<Vec<&'t str>> {
        let groups = self.groups();
        if groups > 1 {
            return None;
        }
        Some(self.find_iter(text).iter().map(|m| m.group(groups).unwrap_or("")).collect())
    }

    /// Python's `re.sub(pattern, repl, text)`.
    pub fn sub(&self, repl: &Replacement, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for m in self.find_iter(text) {
            out.push_str(&text[last..m.start()]);
            repl.expand(&m, &mut out);
            last = m.end();
        }
        out.push_str(&text[last..]);
        out
    }

    /// Python's `re.split` for a separator without groups.
    pub fn split<'t>(&'t self, text: &'t str) -> Vec<&'t str> {
        let mut out = vec![];
        let mut last = 0;
        for m in self.find_iter(text) {
            out.push(&text[last..m.start()]);
            last = m.end();
        }
        out.push(&text[last..]);
        out
    }
}

/// Counts the capture groups of a parsed pattern and collects the named ones.
fn captures(ast: &regex_syntax::ast::Ast, count: &mut usize, named: &mut Vec<(String, usize)>) {
    use regex_syntax::ast::{Ast, GroupKind};
    match ast {
        Ast::Group(g) => {
            match &g.kind {
                GroupKind::CaptureIndex(i) => *count = (*count).max(*i as usize),
                GroupKind::CaptureName { name, .. } => {
                    *count = (*count).max(name.index as usize);
                    named.push((name.name.clone(), name.index as usize));
                }
                GroupKind::NonCapturing(_) => {}
            }
            captures(&g.ast, count, named);
        }
        Ast::Repetition(r) => captures(&r.ast, count, named),
        Ast::Alternation(a) => a.asts.iter().for_each(|x| captures(x, count, named)),
        Ast::Concat(c) => c.asts.iter().for_each(|x| captures(x, count, named)),
        _ => {}
    }
}

fn next_char(text: &str, i: usize) -> usize {
    text[i..].chars().next().map(|c| i + c.len_utf8()).unwrap_or(text.len() + 1)
}

/// Substitutions applied in order: (pattern, replacement).
pub type Replacements = Vec<(Arc<PyRegex>, Replacement)>;

/// Python's replacement syntax: `\1`, `\g<1>`, `\g<name>`, and the escapes `\n`, `\t`, `\\`….
#[derive(Debug, Clone)]
pub struct Replacement(Vec<Piece>);

#[derive(Debug, Clone)]
enum Piece {
    Text(String),
    Group(usize),
    Named(String),
}

impl Replacement {
    pub fn parse(repl: &str) -> Result<Self, String> {
        let mut pieces = vec![];
        let mut text = String::new();
        let mut chars = repl.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '\\' {
                text.push(c);
                continue;
            }
            let Some(n) = chars.next() else {
                return Err("a replacement cannot end with a lone backslash".into());
            };
            let group = match n {
                'g' => {
                    if chars.next() != Some('<') {
                        return Err("`\\g` must be followed by `<name>` or `<number>`".into());
                    }
                    let name: String = chars.by_ref().take_while(|&c| c != '>').collect();
                    match name.parse::<usize>() {
                        Ok(i) => Piece::Group(i),
                        Err(_) if !name.is_empty() => Piece::Named(name),
                        Err(_) => return Err("`\\g<>` names no group".into()),
                    }
                }
                '1'..='9' => {
                    let mut i = n.to_digit(10).unwrap_or(0) as usize;
                    if let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                        i = i * 10 + d as usize;
                        chars.next();
                    }
                    Piece::Group(i)
                }
                'n' | 't' | 'r' | 'f' | 'v' | 'a' | 'b' | '\\' => {
                    text.push(match n {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        'f' => '\x0c',
                        'v' => '\x0b',
                        'a' => '\x07',
                        'b' => '\x08',
                        _ => '\\',
                    });
                    continue;
                }
                c if c.is_ascii_alphabetic() => {
                    return Err(format!("`\\{c}` is not an escape Python allows in a replacement"))
                }
                c => {
                    text.push('\\');
                    text.push(c);
                    continue;
                }
            };
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(group);
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Replacement(pieces))
    }

    /// Group numbers and names it refers to, to check against the pattern at load.
    pub fn check(&self, re: &PyRegex) -> Result<(), String> {
        let names = re.names();
        for p in &self.0 {
            match p {
                Piece::Group(i) if *i > re.groups() => {
                    return Err(format!("the replacement refers to group {i}, but the pattern has {}", re.groups()))
                }
                Piece::Named(n) if !names.iter().any(|(name, _)| name == n) => {
                    return Err(format!("the replacement refers to group `{n}`, which the pattern does not name"))
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn expand(&self, m: &Found, out: &mut String) {
        for p in &self.0 {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Group(i) => out.push_str(m.group(*i).unwrap_or("")),
                Piece::Named(n) => {
                    if let Some((_, i)) = m.re.names().iter().find(|(name, _)| name == n) {
                        out.push_str(m.group(*i).unwrap_or(""));
                    }
                }
            }
        }
    }
}

/// The pattern in Rust's `regex` syntax, when the fast engine runs it (for tools that walk a
/// pattern, such as the oracle test's sample generator).
pub fn rust_syntax(src: &str) -> Option<String> {
    match translate(src) {
        Ok((t, false)) => Some(t),
        _ => None,
    }
}

/// Translates Python syntax to Rust's. Returns the pattern and whether it needs the backtracking
/// engine.
fn translate(src: &str) -> Result<(String, bool), (String, Option<usize>)> {
    let chars: Vec<(usize, char)> = src.char_indices().collect();
    let mut out = String::with_capacity(src.len() + 8);
    let mut fancy = false;
    // Python's `$` without MULTILINE also matches before a final newline; with `(?m)` it is
    // Rust's multi-line `$`.
    let multiline = src.starts_with("(?") && src[2..].chars().take_while(|c| c.is_ascii_alphabetic()).any(|c| c == 'm');
    let mut i = 0;
    let mut in_class = false;
    let mut in_repetition = false;
    while i < chars.len() {
        let (at, c) = chars[i];
        let next = chars.get(i + 1).map(|x| x.1);
        if c == '\\' {
            let Some(n) = next else {
                return Err(("the pattern ends with a lone backslash".into(), Some(at)));
            };
            match n {
                'Z' if !in_class => out.push_str(r"\z"),
                '1'..='9' if !in_class => {
                    fancy = true;
                    out.push('\\');
                    out.push(n);
                }
                _ => {
                    out.push('\\');
                    out.push(n);
                }
            }
            i += 2;
            continue;
        }
        if in_class {
            match c {
                ']' => {
                    in_class = false;
                    out.push(']');
                }
                // Literal in Python, set syntax in Rust.
                '[' | '&' | '~' => {
                    out.push('\\');
                    out.push(c);
                }
                '-' if next == Some('-') => out.push_str(r"\-"),
                _ => out.push(c),
            }
            i += 1;
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                out.push('[');
                // `]` right after `[` or `[^` is a literal in Python.
                let mut j = i + 1;
                if chars.get(j).map(|x| x.1) == Some('^') {
                    out.push('^');
                    j += 1;
                }
                if chars.get(j).map(|x| x.1) == Some(']') {
                    out.push_str(r"\]");
                    j += 1;
                }
                i = j;
                continue;
            }
            '(' if next == Some('?') => {
                let rest: String = chars[i + 2..].iter().take(3).map(|x| x.1).collect();
                if rest.starts_with('=') || rest.starts_with('!') || rest.starts_with("<=") || rest.starts_with("<!") || rest.starts_with('>') {
                    fancy = true;
                } else if rest.starts_with("P=") {
                    // (?P=name) → \k<name>
                    let name: String = chars[i + 4..].iter().map(|x| x.1).take_while(|&c| c != ')').collect();
                    out.push_str(&format!(r"\k<{name}>"));
                    fancy = true;
                    i += 4 + name.chars().count() + 1;
                    continue;
                } else if rest.starts_with('#') {
                    // A comment group.
                    let len = chars[i..].iter().position(|x| x.1 == ')').unwrap_or(chars.len() - i);
                    i += len + 1;
                    continue;
                }
                out.push(c);
            }
            '{' => {
                // `{,n}` is `{0,n}` in Python; a `{` that opens no repetition is a literal there.
                let body: String = chars[i + 1..].iter().map(|x| x.1).take_while(|&c| c != '}').collect();
                let closed = chars[i + 1..].iter().any(|x| x.1 == '}');
                let is_rep = closed
                    && !body.is_empty()
                    && body.chars().all(|c| c.is_ascii_digit() || c == ',')
                    && body.matches(',').count() <= 1
                    && body != ",";
                if is_rep {
                    in_repetition = true;
                    if body.starts_with(',') {
                        out.push_str("{0");
                    } else {
                        out.push('{');
                    }
                } else {
                    out.push_str(r"\{");
                }
            }
            '}' => {
                out.push_str(if in_repetition { "}" } else { r"\}" });
                in_repetition = false;
            }
            '$' if !multiline => {
                fancy = true;
                out.push_str(r"(?=\n?\z)");
            }
            _ => out.push(c),
        }
        i += 1;
    }
    if in_class {
        return Err(("a `[` character class is never closed".into(), Some(src.rfind('[').unwrap_or(0))));
    }
    Ok((out, fancy))
}

/// Maps an offset in the translated pattern back to the template's (close enough for a column:
/// translation only lengthens a few constructs).
fn map_offset(src: &str, translated: &str, offset: usize) -> usize {
    let extra = translated.len().saturating_sub(src.len());
    offset.saturating_sub(extra).min(src.len())
}

fn describe(kind: String) -> String {
    format!("the regular expression is not valid: {kind}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(s: &str) -> Arc<PyRegex> {
        PyRegex::new(s).unwrap()
    }

    #[test]
    fn findall_like_python() {
        assert_eq!(re(r"\d+").findall("a 12 b 345").unwrap(), vec!["12", "345"]);
        assert_eq!(re(r"Total:\s+(\d+)").findall("Total: 5\nTotal: 7").unwrap(), vec!["5", "7"]);
        assert!(re(r"(\d)(\d)").findall("12").is_none());
        assert_eq!(re(r"x{,2}y").findall("xxy").unwrap(), vec!["xxy"]);
    }

    #[test]
    fn dollar_matches_before_a_final_newline_only() {
        assert_eq!(re(r"(\w+)$").findall("one\ntwo\n").unwrap(), vec!["two"]);
        assert_eq!(re(r"(?m)(\w+)$").findall("one\ntwo\n").unwrap(), vec!["one", "two"]);
    }

    #[test]
    fn look_around_and_back_references() {
        assert_eq!(re(r"(?<=EUR )(\d+)").findall("USD 3 EUR 4").unwrap(), vec!["4"]);
        assert_eq!(re(r"(\w)\1").findall("abba").unwrap(), vec!["b"]);
        assert_eq!(re(r"(?P<x>a)(?P=x)").search("caab").unwrap().group(0), Some("aa"));
    }

    #[test]
    fn python_classes_and_replacements() {
        assert_eq!(re(r"[[]x").findall("a[x").unwrap(), vec!["[x"]);
        let r = re(r"(?P<d>\d\d)\.(?P<m>\d\d)");
        assert_eq!(r.sub(&Replacement::parse(r"\g<m>/\g<d>").unwrap(), "on 07.05 and 01.02"), "on 05/07 and 02/01");
        assert_eq!(re(r"(\d)").sub(&Replacement::parse(r"<\1>\n").unwrap(), "a1"), "a<1>\n");
        assert!(Replacement::parse(r"\q").is_err());
    }

    #[test]
    fn errors_name_the_place() {
        let (msg, at) = PyRegex::new(r"abc(").unwrap_err();
        assert!(msg.contains("not valid"), "{msg}");
        assert!(at.is_some());
    }
}
