//! Dates as invoice2data 1.0.1 reads them, tier by tier: the template's `date_formats` with
//! Python's `strptime`; then `dateutil.parser.parse` (numbers and English month names; month
//! first when the order is ambiguous, as dateutil is); then `dateparser` for month names in the
//! template's `languages` (day first, as those languages write dates). A part the text does not
//! give (the day of "March 2014") is taken from today, as both libraries do.

use chrono::{Datelike, Local, NaiveDate, NaiveDateTime};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// Parses `value` like invoice2data's `parse_date`, or says why it could not.
pub fn parse(value: &str, formats: &[String], languages: &[String]) -> Result<NaiveDateTime, String> {
    let cleaned = value.trim();
    if cleaned.is_empty() {
        return Err("the text found for the date is empty".into());
    }
    if let Some(d) = formats.iter().find_map(|f| strptime(cleaned, f)) {
        return Ok(d);
    }
    if let Some(d) = dateutil(cleaned) {
        return Ok(d);
    }
    if let Some(d) = dateparser(value, languages) {
        return Ok(d);
    }
    let mut why = format!("{cleaned:?} is not a date");
    if !formats.is_empty() {
        why.push_str(&format!(" in the formats {}", formats.join(", ")));
    }
    if !languages.is_empty() {
        why.push_str(&format!(" nor one written in {}", languages.join(", ")));
    }
    Err(why)
}

fn today() -> NaiveDate {
    Local::now().date_naive()
}

const MONTHS: [&str; 12] =
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];
const WEEKDAYS: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

// ---------------------------------------------------------------------------------------------
// Tier 1: Python's strptime (C locale).

fn strptime_regex(format: &str) -> Option<regex::Regex> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<regex::Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(r) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(format) {
        return r.clone();
    }
    let built = build_strptime(format);
    cache.lock().unwrap_or_else(|e| e.into_inner()).insert(format.to_string(), built.clone());
    built
}

/// The regex Python's `_strptime.TimeRE` builds for `format`.
fn build_strptime(format: &str) -> Option<regex::Regex> {
    let mut re = String::from("(?i)^");
    let mut chars = format.chars().peekable();
    let names = |full: bool, list: &[&str]| {
        let v: Vec<String> = list.iter().map(|m| if full { m.to_string() } else { m[..3].to_string() }).collect();
        v.join("|")
    };
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            re.push_str(r"\s+");
            continue;
        }
        if c != '%' {
            re.push_str(&regex::escape(&c.to_string()));
            continue;
        }
        let part = match chars.next()? {
            'd' => r"(?P<d>3[0-1]|[1-2]\d|0[1-9]|[1-9]| [1-9])".to_string(),
            'm' => r"(?P<m>1[0-2]|0[1-9]|[1-9])".to_string(),
            'Y' => r"(?P<Y>\d\d\d\d)".to_string(),
            'y' => r"(?P<y>\d\d)".to_string(),
            'H' => r"(?P<H>2[0-3]|[0-1]\d|\d)".to_string(),
            'I' => r"(?P<I>1[0-2]|0[1-9]|[1-9])".to_string(),
            'M' => r"(?P<M>[0-5]\d|\d)".to_string(),
            'S' => r"(?P<S>6[0-1]|[0-5]\d|\d)".to_string(),
            'f' => r"(?P<f>[0-9]{1,6})".to_string(),
            'p' => "(?P<p>am|pm)".to_string(),
            'B' => format!("(?P<B>{})", names(true, &MONTHS)),
            'b' | 'h' => format!("(?P<b>{})", names(false, &MONTHS)),
            'A' => format!("(?:{})", names(true, &WEEKDAYS)),
            'a' => format!("(?:{})", names(false, &WEEKDAYS)),
            'j' => r"(?P<j>36[0-6]|3[0-5]\d|[1-2]\d\d|0[1-9]\d|00[1-9]|[1-9]\d|0[1-9]|[1-9])".to_string(),
            'Z' => "(?:utc|gmt)".to_string(),
            'z' => r"(?:[+-]\d\d:?[0-5]\d(?::?[0-5]\d)?|(?-i:Z))".to_string(),
            '%' => "%".to_string(),
            _ => return None,
        };
        re.push_str(&part);
    }
    re.push('$');
    regex::Regex::new(&re).ok()
}

/// `datetime.strptime(value, format)`, or None.
pub fn strptime(value: &str, format: &str) -> Option<NaiveDateTime> {
    let c = strptime_regex(format)?.captures(value)?;
    let num = |k: &str| c.name(k).and_then(|m| m.as_str().trim().parse::<u32>().ok());
    let month_of = |k: &str, full: bool| {
        c.name(k).and_then(|m| {
            let s = m.as_str().to_lowercase();
            MONTHS.iter().position(|n| if full { *n == s } else { n[..3] == s }).map(|i| i as u32 + 1)
        })
    };
    let mut year = num("Y").map(|y| y as i32).unwrap_or(1900);
    if let Some(y) = num("y") {
        year = if y <= 68 { 2000 + y as i32 } else { 1900 + y as i32 };
    }
    let month = num("m").or_else(|| month_of("B", true)).or_else(|| month_of("b", false)).unwrap_or(1);
    let date = match num("j") {
        Some(j) if num("m").is_none() && num("d").is_none() => NaiveDate::from_yo_opt(year, j)?,
        _ => NaiveDate::from_ymd_opt(year, month, num("d").unwrap_or(1))?,
    };
    let mut hour = num("H").unwrap_or(0);
    if let Some(h) = num("I") {
        let pm = c.name("p").is_some_and(|p| p.as_str().eq_ignore_ascii_case("pm"));
        hour = (h % 12) + if pm { 12 } else { 0 };
    }
    date.and_hms_opt(hour, num("M").unwrap_or(0), num("S").unwrap_or(0).min(59))
}

// ---------------------------------------------------------------------------------------------
// Tier 2: dateutil.parser.parse (default parserinfo: dayfirst=False, yearfirst=False, not fuzzy).

/// dateutil's `_timelex`: words, numbers, single other characters, whitespace as one " ". A
/// number may carry dots and one comma (`7123,2014` is the decimal 7123.2014 to dateutil); one
/// with several dots is split again (`12.05.2014` → 12 . 05 . 2014).
fn tokens(s: &str) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut t = c.to_string();
        i += 1;
        if c.is_alphabetic() {
            while i < chars.len() && chars[i].is_alphabetic() {
                t.push(chars[i]);
                i += 1;
            }
        } else if c.is_ascii_digit() {
            while i < chars.len() && chars[i].is_ascii_digit() {
                t.push(chars[i]);
                i += 1;
            }
            if i < chars.len() && (chars[i] == '.' || (chars[i] == ',' && t.len() >= 2)) {
                t.push(chars[i]);
                i += 1;
                while i < chars.len() && (chars[i] == '.' || chars[i].is_ascii_digit()) {
                    t.push(chars[i]);
                    i += 1;
                }
                if t.matches('.').count() > 1 || t.ends_with(['.', ',']) {
                    // Split into numbers and separators again.
                    let mut part = String::new();
                    for ch in t.chars() {
                        if ch == '.' || ch == ',' {
                            if !part.is_empty() {
                                out.push(std::mem::take(&mut part));
                            }
                            out.push(ch.to_string());
                        } else {
                            part.push(ch);
                        }
                    }
                    if !part.is_empty() {
                        out.push(part);
                    }
                    continue;
                }
                t = t.replace(',', ".");
            }
        } else if c.is_whitespace() {
            while i < chars.len() && chars[i].is_whitespace() {
                i += 1;
            }
            t = " ".into();
        }
        out.push(t);
    }
    out
}

fn is_num(t: &str) -> bool {
    t.starts_with(|c: char| c.is_ascii_digit()) && t.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// A numeric token's value, dropping a fraction as Python's int() of a Decimal does.
fn int_of(t: &str) -> Option<i64> {
    t.split('.').next()?.parse().ok()
}

fn jump(t: &str) -> bool {
    matches!(
        t.to_lowercase().as_str(),
        " " | "." | "," | ";" | "-" | "/" | "'" | "at" | "on" | "and" | "ad" | "m" | "t" | "of" | "st" | "nd" | "rd" | "th"
    )
}

fn english_month(t: &str) -> Option<u32> {
    let t = t.to_lowercase();
    if t == "sept" {
        return Some(9);
    }
    MONTHS.iter().position(|m| *m == t || (t.len() == 3 && m[..3] == t)).map(|i| i as u32 + 1)
}

fn english_weekday(t: &str) -> bool {
    let t = t.to_lowercase();
    WEEKDAYS.iter().any(|w| *w == t || (t.len() == 3 && w[..3] == t)) || matches!(t.as_str(), "tues" | "wed" | "thurs")
}

/// Year, month and day values in order of appearance, with what is known of each.
#[derive(Default)]
struct Ymd {
    values: Vec<i64>,
    month_at: Option<usize>,
    day_at: Option<usize>,
    year_at: Option<usize>,
    century: bool,
}

impl Ymd {
    /// Appends a number as written (its digits count: "2014" is a year).
    fn push_text(&mut self, t: &str) -> Option<()> {
        let v: i64 = t.parse().ok()?;
        if t.len() > 2 {
            self.century = true;
            self.label_year()?;
        }
        self.values.push(v);
        Some(())
    }
    fn label_year(&mut self) -> Option<()> {
        if self.year_at.is_some() {
            return None;
        }
        self.year_at = Some(self.values.len());
        Some(())
    }
    fn push_month(&mut self, m: u32) -> Option<()> {
        if self.month_at.is_some() {
            return None;
        }
        self.month_at = Some(self.values.len());
        self.values.push(m as i64);
        Some(())
    }
    fn could_be_day(&self, v: i64) -> bool {
        if self.day_at.is_some() {
            return false;
        }
        let Some(m) = self.month_at.map(|i| self.values[i]) else { return (1..=31).contains(&v) };
        let y = self.year_at.map(|i| self.values[i] as i32).unwrap_or(2000);
        (1..=days_in_month(y, m as u32) as i64).contains(&v)
    }

    /// dateutil's `_ymd.resolve_ymd(yearfirst=False, dayfirst)`.
    fn resolve(&self, dayfirst: bool) -> Option<(Option<i64>, Option<i64>, Option<i64>)> {
        let v = &self.values;
        let mut known: Vec<(char, usize)> = vec![];
        for (k, at) in [('y', self.year_at), ('m', self.month_at), ('d', self.day_at)] {
            if let Some(i) = at {
                known.push((k, i));
            }
        }
        if (!known.is_empty() && v.len() == known.len()) || (v.len() == 3 && known.len() == 2) {
            if v.len() == 3 && known.len() == 2 {
                let missing = (0..3).find(|i| !known.iter().any(|(_, k)| k == i))?;
                let key = ['y', 'm', 'd'].into_iter().find(|k| !known.iter().any(|(c, _)| c == k))?;
                known.push((key, missing));
            }
            let get = |c: char| known.iter().find(|(k, _)| *k == c).map(|(_, i)| v[*i]);
            return Some((get('y'), get('m'), get('d')));
        }
        let m = self.month_at;
        let (mut year, mut month, mut day) = (None, None, None);
        match v.len() {
            0 => {}
            n if n > 3 => return None,
            n if n == 1 || (m.is_some() && n == 2) => {
                let other = match m {
                    Some(mi) => {
                        month = Some(v[mi]);
                        v[if mi == 0 { n - 1 } else { mi - 1 }]
                    }
                    None => v[0],
                };
                if n > 1 || m.is_none() {
                    if other > 31 {
                        year = Some(other);
                    } else {
                        day = Some(other);
                    }
                }
            }
            2 => {
                if v[0] > 31 {
                    (year, month) = (Some(v[0]), Some(v[1]));
                } else if v[1] > 31 {
                    (month, year) = (Some(v[0]), Some(v[1]));
                } else if dayfirst && v[1] <= 12 {
                    (day, month) = (Some(v[0]), Some(v[1]));
                } else {
                    (month, day) = (Some(v[0]), Some(v[1]));
                }
            }
            _ => {
                let (a, b, c) = (v[0], v[1], v[2]);
                (year, month, day) = match m {
                    Some(0) if b > 31 => (Some(b), Some(a), Some(c)),
                    Some(0) => (Some(c), Some(a), Some(b)),
                    Some(1) if a > 31 => (Some(a), Some(b), Some(c)),
                    Some(1) => (Some(c), Some(b), Some(a)),
                    Some(_) if b > 31 => (Some(b), Some(c), Some(a)),
                    Some(_) => (Some(a), Some(c), Some(b)),
                    None if a > 31 || self.year_at == Some(0) => {
                        if dayfirst && c <= 12 {
                            (Some(a), Some(c), Some(b))
                        } else {
                            (Some(a), Some(b), Some(c))
                        }
                    }
                    None if a > 12 || (dayfirst && b <= 12) => (Some(c), Some(b), Some(a)),
                    None => (Some(c), Some(a), Some(b)),
                };
            }
        }
        Some((year, month, day))
    }
}

fn days_in_month(y: i32, m: u32) -> u32 {
    let next = if m == 12 { NaiveDate::from_ymd_opt(y + 1, 1, 1) } else { NaiveDate::from_ymd_opt(y, m + 1, 1) };
    next.and_then(|n| n.pred_opt()).map(|d| d.day()).unwrap_or(31)
}

/// dateutil's two-digit year: the century that puts it within 50 years of now.
fn convert_year(y: i64, century_given: bool) -> i64 {
    if y >= 100 || century_given {
        return y;
    }
    let now = today().year() as i64;
    let mut y = y + now / 100 * 100;
    if y >= now + 50 {
        y -= 100;
    } else if y < now - 50 {
        y += 100;
    }
    y
}

/// Builds the date from what was found, the rest from today (the day clamped to the month).
fn build(ymd: &Ymd, dayfirst: bool, time: (u32, u32, u32)) -> Option<NaiveDateTime> {
    let (y, m, d) = ymd.resolve(dayfirst)?;
    let t = today();
    let year = y.map(|y| convert_year(y, ymd.century)).unwrap_or(t.year() as i64);
    // Python's datetime holds years 1 to 9999.
    if !(1..=9999).contains(&year) {
        return None;
    }
    let year = year as i32;
    let month = m.map(|m| m as u32).unwrap_or(t.month());
    let day = match d {
        Some(d) => d as u32,
        None => t.day().min(days_in_month(year, month)),
    };
    NaiveDate::from_ymd_opt(year, month, day)?.and_hms_opt(time.0, time.1, time.2)
}

/// `dateutil.parser.parse(value)` for dates as invoices write them; None where dateutil raises.
pub fn dateutil(value: &str) -> Option<NaiveDateTime> {
    let toks = tokens(value);
    let mut ymd = Ymd::default();
    let (mut hour, mut minute, mut second) = (None::<u32>, 0, 0);
    let mut pm = None;
    let mut found_any = false;
    let n = toks.len();
    let mut i = 0;
    while i < n {
        let t = toks[i].as_str();
        let next = toks.get(i + 1).map(String::as_str);
        if is_num(t) {
            found_any = true;
            let len = t.len();
            let value: f64 = t.parse().ok()?;
            if ymd.values.len() == 3 && (len == 2 || len == 4) && hour.is_none() && next.is_none_or(|x| x != ":") {
                hour = Some(t[..2].parse().ok()?);
                if len == 4 {
                    minute = t[2..].parse().ok()?;
                }
            } else if len == 6 || (len > 6 && t.find('.') == Some(6)) {
                if ymd.values.is_empty() && !t.contains('.') {
                    ymd.push_text(&t[..2])?;
                    ymd.push_text(&t[2..4])?;
                    ymd.push_text(&t[4..])?;
                } else {
                    hour = Some(t[..2].parse().ok()?);
                    minute = t[2..4].parse().ok()?;
                    second = int_of(&t[4..])? as u32;
                }
            } else if matches!(len, 8 | 12 | 14) {
                ymd.label_year()?;
                ymd.values.push(t[..4].parse().ok()?);
                ymd.century = true;
                ymd.push_text(&t[4..6])?;
                ymd.push_text(&t[6..8])?;
                if len > 8 {
                    hour = Some(t[8..10].parse().ok()?);
                    minute = t[10..12].parse().ok()?;
                    if len > 12 {
                        second = t[12..].parse().ok()?;
                    }
                }
            } else if next == Some(":") && i + 2 < n {
                hour = Some(int_of(t)? as u32);
                minute = toks[i + 2].parse().ok()?;
                if toks.get(i + 3).map(String::as_str) == Some(":") {
                    second = toks.get(i + 4)?.parse().ok()?;
                    i += 2;
                }
                i += 2;
            } else if let Some(sep @ ("-" | "/" | ".")) = next {
                ymd.push_text(t)?;
                if i + 2 < n && !jump(&toks[i + 2]) {
                    let t2 = toks[i + 2].as_str();
                    if is_num(t2) {
                        ymd.push_text(t2)?;
                    } else {
                        ymd.push_month(english_month(t2)?)?;
                    }
                    if toks.get(i + 3).map(String::as_str) == Some(sep) {
                        let t4 = toks.get(i + 4)?.as_str();
                        match english_month(t4) {
                            Some(m) => ymd.push_month(m)?,
                            None => ymd.push_text(t4)?,
                        }
                        i += 2;
                    }
                    i += 1;
                }
                i += 1;
            } else if next.is_none_or(jump) {
                let after = toks.get(i + 2).map(|s| s.to_lowercase());
                if let Some(ap @ ("am" | "pm" | "a" | "p")) = after.as_deref() {
                    hour = Some(int_of(t)? as u32);
                    pm = Some(ap.starts_with('p'));
                    i += 1;
                } else {
                    // A decimal above 100 is a year (dateutil compares the Decimal).
                    if value > 100.0 {
                        ymd.century = true;
                        ymd.label_year()?;
                    }
                    ymd.values.push(int_of(t)?);
                }
                i += 1;
            } else if let (Some(ap @ ("am" | "pm" | "a" | "p")), true) =
                (next.map(|s| s.to_lowercase()).as_deref(), (0.0..24.0).contains(&value))
            {
                hour = Some(int_of(t)? as u32);
                pm = Some(ap.starts_with('p'));
                i += 1;
            } else if ymd.could_be_day(int_of(t)?) {
                ymd.values.push(int_of(t)?);
            } else {
                return None;
            }
            i += 1;
            continue;
        }
        if let Some(m) = english_month(t) {
            found_any = true;
            ymd.push_month(m)?;
            if let Some(sep @ ("-" | "/")) = next {
                ymd.push_text(toks.get(i + 2)?)?;
                if toks.get(i + 3).map(String::as_str) == Some(sep) {
                    ymd.push_text(toks.get(i + 4)?)?;
                    i += 2;
                }
                i += 2;
            }
            i += 1;
            continue;
        }
        if english_weekday(t) || jump(t) {
            i += 1;
            continue;
        }
        match t.to_lowercase().as_str() {
            "am" | "pm" | "a" | "p" if hour.is_some() => pm = Some(t.to_lowercase().starts_with('p')),
            _ => return None,
        }
        i += 1;
    }
    if !found_any {
        return None;
    }
    let mut h = hour.unwrap_or(0);
    if let Some(p) = pm {
        if h > 12 {
            return None;
        }
        h = (h % 12) + if p { 12 } else { 0 };
    }
    if ymd.values.is_empty() && hour.is_some() {
        return today().and_hms_opt(h, minute, second);
    }
    build(&ymd, false, (h, minute, second))
}

// ---------------------------------------------------------------------------------------------
// Tier 3: dateparser for month names in other languages.

/// Month names and abbreviations (with the genitive forms Polish writes in dates), and the
/// words a date may carry that mean nothing (`de`, `le`, `r.`).
fn language(code: &str) -> Option<(&'static [&'static [&'static str]; 12], &'static [&'static str])> {
    static EN: [&[&str]; 12] = [
        &["january", "jan"], &["february", "feb"], &["march", "mar"], &["april", "apr"], &["may"], &["june", "jun"],
        &["july", "jul"], &["august", "aug"], &["september", "sep", "sept"], &["october", "oct"],
        &["november", "nov"], &["december", "dec"],
    ];
    static DE: [&[&str]; 12] = [
        &["januar", "jänner", "jan", "jän"], &["februar", "feber", "feb"], &["märz", "maerz", "mär", "mrz"],
        &["april", "apr"], &["mai"], &["juni", "jun"], &["juli", "jul"], &["august", "aug"],
        &["september", "sep", "sept"], &["oktober", "okt"], &["november", "nov"], &["dezember", "dez"],
    ];
    static FR: [&[&str]; 12] = [
        &["janvier", "janv", "jan"], &["février", "fevrier", "févr", "fevr", "fév", "fev"], &["mars", "mar"],
        &["avril", "avr"], &["mai"], &["juin"], &["juillet", "juil"], &["août", "aout", "aoû"],
        &["septembre", "sept", "sep"], &["octobre", "oct"], &["novembre", "nov"], &["décembre", "decembre", "déc", "dec"],
    ];
    static NL: [&[&str]; 12] = [
        &["januari", "jan"], &["februari", "feb"], &["maart", "mrt", "mar"], &["april", "apr"], &["mei"],
        &["juni", "jun"], &["juli", "jul"], &["augustus", "aug"], &["september", "sep", "sept"],
        &["oktober", "okt"], &["november", "nov"], &["december", "dec"],
    ];
    static ES: [&[&str]; 12] = [
        &["enero", "ene"], &["febrero", "feb"], &["marzo", "mar"], &["abril", "abr"], &["mayo", "may"],
        &["junio", "jun"], &["julio", "jul"], &["agosto", "ago"], &["septiembre", "setiembre", "sep", "sept", "set"],
        &["octubre", "oct"], &["noviembre", "nov"], &["diciembre", "dic"],
    ];
    static IT: [&[&str]; 12] = [
        &["gennaio", "gen"], &["febbraio", "feb"], &["marzo", "mar"], &["aprile", "apr"], &["maggio", "mag"],
        &["giugno", "giu"], &["luglio", "lug"], &["agosto", "ago"], &["settembre", "set"], &["ottobre", "ott"],
        &["novembre", "nov"], &["dicembre", "dic"],
    ];
    static PT: [&[&str]; 12] = [
        &["janeiro", "jan"], &["fevereiro", "fev"], &["março", "marco", "mar"], &["abril", "abr"], &["maio", "mai"],
        &["junho", "jun"], &["julho", "jul"], &["agosto", "ago"], &["setembro", "set"], &["outubro", "out"],
        &["novembro", "nov"], &["dezembro", "dez"],
    ];
    static PL: [&[&str]; 12] = [
        &["styczeń", "stycznia", "sty"], &["luty", "lutego", "lut"], &["marzec", "marca", "mar"],
        &["kwiecień", "kwietnia", "kwi"], &["maj", "maja"], &["czerwiec", "czerwca", "cze"],
        &["lipiec", "lipca", "lip"], &["sierpień", "sierpnia", "sie"], &["wrzesień", "września", "wrz"],
        &["październik", "października", "paź"], &["listopad", "listopada", "lis"], &["grudzień", "grudnia", "gru"],
    ];
    Some(match code {
        "en" => (&EN, &["of", "the", "on", "at", "st", "nd", "rd", "th"]),
        "de" => (&DE, &["am", "den", "der", "um"]),
        "fr" => (&FR, &["le", "er", "à"]),
        "nl" => (&NL, &["de", "op", "om"]),
        "es" => (&ES, &["de", "del", "el"]),
        "it" => (&IT, &["di", "del", "il"]),
        "pt" => (&PT, &["de", "do", "da"]),
        "pl" => (&PL, &["r", "roku", "dnia"]),
        _ => return None,
    })
}

pub const LANGUAGES: &[&str] = &["en", "de", "fr", "nl", "es", "it", "pt", "pl"];

/// Day-first in every language here but English, as dateparser's locale data says.
pub fn dateparser(value: &str, languages: &[String]) -> Option<NaiveDateTime> {
    let all: Vec<String> = LANGUAGES.iter().map(|s| s.to_string()).collect();
    let langs = if languages.is_empty() { &all } else { languages };
    // Months in Roman numerals (`12 X 2014`) only when no language is named: dateparser's
    // detection then tries locales that write them.
    langs.iter().find_map(|l| in_language(value, l, languages.is_empty()))
}

fn in_language(value: &str, code: &str, roman: bool) -> Option<NaiveDateTime> {
    let (months, skip) = language(code)?;
    let lower = value.to_lowercase();
    let mut numbers: Vec<String> = vec![];
    let mut month = None;
    let mut month_at = None;
    for tok in tokens(&lower) {
        let t = tok.as_str();
        if is_num(t) {
            numbers.push(tok.clone());
            continue;
        }
        if t.chars().all(|c| !c.is_alphanumeric()) || skip.contains(&t) || english_weekday(t) {
            continue;
        }
        const ROMAN: [&str; 12] = ["i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii"];
        let m = months
            .iter()
            .position(|names| names.contains(&t))
            .or_else(|| ROMAN.iter().position(|r| roman && *r == t))
            .map(|i| i as u32 + 1)?;
        if month.is_some() {
            return None;
        }
        month = Some(m);
        month_at = Some(numbers.len());
    }
    let month = month?;
    let mut ymd = Ymd::default();
    for (i, n) in numbers.iter().enumerate() {
        if month_at == Some(i) {
            ymd.push_month(month)?;
        }
        ymd.push_text(n)?;
    }
    if month_at == Some(numbers.len()) {
        ymd.push_month(month)?;
    }
    if ymd.values.len() > 3 {
        return None;
    }
    build(&ymd, code != "en", (0, 0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str, f: &[&str], l: &[&str]) -> String {
        let f: Vec<String> = f.iter().map(|s| s.to_string()).collect();
        let l: Vec<String> = l.iter().map(|s| s.to_string()).collect();
        parse(s, &f, &l).map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_else(|e| e)
    }

    #[test]
    fn formats_first_then_dateutil_then_languages() {
        assert_eq!(d("03.04.2024", &["%d.%m.%Y"], &[]), "2024-04-03");
        // dateutil reads month first when nothing says otherwise, as invoice2data does.
        assert_eq!(d("03.04.2024", &[], &["de"]), "2024-03-04");
        assert_eq!(d("13.04.2024", &[], &[]), "2024-04-13");
        assert_eq!(d("August 3 , 2014", &[], &[]), "2014-08-03");
        assert_eq!(d("March 3rd, 2024", &[], &[]), "2024-03-03");
        assert_eq!(d("2024-02-29", &[], &[]), "2024-02-29");
        assert_eq!(d("7. Mai 2014", &[], &["de"]), "2014-05-07");
        assert_eq!(d("02 Juillet 2015", &[], &["fr"]), "2015-07-02");
        assert_eq!(d("29 maart 2014", &[], &["nl"]), "2014-03-29");
        assert_eq!(d("5 de enero de 2020", &[], &["es"]), "2020-01-05");
        assert_eq!(d("12 settembre 2019", &[], &["it"]), "2019-09-12");
        assert_eq!(d("1 de março de 2021", &[], &["pt"]), "2021-03-01");
        assert_eq!(d("3 października 2022 r.", &[], &["pl"]), "2022-10-03");
        assert!(d("2024-02-30", &[], &[]).contains("is not a date"));
        assert!(d("Mai 40 2014 xyz", &[], &["de"]).contains("nor one written in de"));
    }
}
