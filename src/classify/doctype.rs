//! A document type as loaded from a definition file, ready to match.

use super::fields::FieldType;
use regex::Regex;
use std::borrow::Cow;
use std::path::PathBuf;

#[derive(Debug)]
pub struct DocType {
    pub name: String,
    pub priority: i64,
    /// The definition file it came from, for messages.
    pub file: PathBuf,
    /// Line and column of the type's name (or first line) in that file.
    pub defined_at: (usize, usize),
    /// Hash of the file's content: the version of this definition.
    pub version: String,
    pub match_all: Vec<Regex>,
    pub match_any: Vec<Regex>,
    pub match_none: Vec<Regex>,
    pub fields: Vec<FieldDef>,
    /// Text rewriting before matching (invoice2data's `options`); most types have none.
    pub prepare: Option<Prepare>,
}

#[derive(Debug)]
pub struct FieldDef {
    pub name: String,
    /// Tried in order; the first that matches gives the value (its first capture group).
    pub regexes: Vec<Regex>,
    /// A constant value instead of a regex (invoice2data's `static_*` fields).
    pub value: Option<String>,
    pub ty: FieldType,
    pub required: bool,
    pub date_formats: Vec<String>,
    pub decimal_separator: Option<char>,
}

impl FieldDef {
    /// The raw text this field captures from `text`, if any.
    pub fn find(&self, text: &str) -> Option<String> {
        if let Some(v) = &self.value {
            return Some(v.clone());
        }
        self.regexes.iter().find_map(|r| {
            r.captures(text).map(|c| c.get(1).or_else(|| c.get(0)).map(|m| m.as_str().to_string()).unwrap_or_default())
        })
    }
}

/// How a type wants the text prepared before its patterns run.
#[derive(Debug, Default)]
pub struct Prepare {
    pub replace: Vec<(Regex, String)>,
    pub remove_whitespace: bool,
    pub remove_accents: bool,
    pub lowercase: bool,
}

impl Prepare {
    pub fn apply<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut t: Cow<str> = Cow::Borrowed(text);
        for (re, with) in &self.replace {
            if let Cow::Owned(s) = re.replace_all(&t, with.as_str()) {
                t = Cow::Owned(s);
            }
        }
        if self.remove_whitespace {
            t = Cow::Owned(t.chars().filter(|c| !c.is_whitespace()).collect());
        }
        if self.remove_accents {
            t = Cow::Owned(t.chars().map(strip_accent).collect());
        }
        if self.lowercase {
            t = Cow::Owned(t.to_lowercase());
        }
        t
    }
}

impl DocType {
    /// The text as this type sees it.
    pub fn prepared<'t>(&self, text: &'t str) -> Cow<'t, str> {
        match &self.prepare {
            Some(p) => p.apply(text),
            None => Cow::Borrowed(text),
        }
    }
}

/// Latin letters with diacritics to their base letter (what invoice2data's `remove_accents`
/// does through Unicode decomposition, for the letters invoices use).
fn strip_accent(c: char) -> char {
    const FROM: &str = "àáâãäåāăąçćčďèéêëēėęěìíîïīįłñńňòóôõöøōőŕřśšşťùúûüūůűųýÿźżžÀÁÂÃÄÅĀĂĄÇĆČĎÈÉÊËĒĖĘĚÌÍÎÏĪĮŁÑŃŇÒÓÔÕÖØŌŐŔŘŚŠŞŤÙÚÛÜŪŮŰŲÝŸŹŻŽ";
    const TO: &str = "aaaaaaaaacccdeeeeeeeeiiiiiilnnnoooooooorrsssttuuuuuuuuyyzzzAAAAAAAAACCCDEEEEEEEEIIIIIILNNNOOOOOOOORRSSSTUUUUUUUUYYZZZ";
    FROM.chars().position(|f| f == c).and_then(|i| TO.chars().nth(i)).unwrap_or(c)
}
