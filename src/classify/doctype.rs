//! A document type as loaded from a definition file, ready to match.

use super::fields::FieldType;
use regex::Regex;
use std::path::PathBuf;

#[derive(Debug)]
pub struct DocType {
    pub name: String,
    pub priority: i64,
    /// The definition file it came from, for messages.
    pub file: PathBuf,
    /// Line and column of the `doctype:` name in that file.
    pub defined_at: (usize, usize),
    /// Hash of the file's content: the version of this definition.
    pub version: String,
    pub match_all: Vec<Regex>,
    pub match_any: Vec<Regex>,
    pub match_none: Vec<Regex>,
    pub fields: Vec<FieldDef>,
}

#[derive(Debug)]
pub struct FieldDef {
    pub name: String,
    pub regex: Regex,
    pub ty: FieldType,
    pub required: bool,
    pub date_formats: Vec<String>,
    pub decimal_separator: Option<char>,
}
