//! RTF's text: paragraphs, tabs and table cells kept, formatting and the destinations that are
//! not the document (font and colour tables, pictures, field instructions, metadata) skipped.
//! Groups are a stack of states, not recursion, so nesting costs no stack.

use crate::read::Unreadable;

/// Groups open at once: real files nest a few dozen deep.
const MAX_DEPTH: usize = 10_000;

/// Destinations whose content is not the document's text.
const SKIPPED: &[&str] = &[
    "fonttbl", "colortbl", "stylesheet", "info", "pict", "object", "listtable", "listoverridetable", "rsidtbl",
    "generator", "xmlnstbl", "themedata", "colorschememapping", "datastore", "latentstyles", "fldinst", "filetbl",
    "revtbl", "pgdsctbl", "nonshppict", "shpinst", "bkmkstart", "bkmkend",
];

#[derive(Clone, Copy)]
struct State {
    skip: bool,
    /// Characters of ANSI fallback after each `\u`.
    uc: usize,
}

pub fn text(bytes: &[u8]) -> Result<String, Unreadable> {
    let mut out = String::new();
    let mut stack: Vec<State> = vec![];
    let mut state = State { skip: false, uc: 1 };
    // Fallback characters still to drop after a `\u`.
    let mut fallback = 0usize;
    let mut i = 0;
    let emit = |out: &mut String, state: &State, fallback: &mut usize, c: char| {
        if *fallback > 0 {
            *fallback -= 1;
        } else if !state.skip {
            out.push(c);
        }
    };
    while i < bytes.len() {
        let b = bytes[i];
        i += 1;
        match b {
            b'{' => {
                if stack.len() >= MAX_DEPTH {
                    return Err(Unreadable(format!(
                        "the RTF file nests its groups more than {MAX_DEPTH} levels deep; it is built to exhaust readers or damaged"
                    )));
                }
                stack.push(state);
                fallback = 0;
            }
            b'}' => {
                state = stack.pop().unwrap_or(state);
                fallback = 0;
            }
            b'\r' | b'\n' => {}
            b'\\' => {
                let Some(&c) = bytes.get(i) else { break };
                i += 1;
                if c.is_ascii_alphabetic() {
                    let start = i - 1;
                    while i < bytes.len() && bytes[i].is_ascii_alphabetic() && i - start < 32 {
                        i += 1;
                    }
                    let word = String::from_utf8_lossy(&bytes[start..i]).into_owned();
                    let num_start = i;
                    if i < bytes.len() && bytes[i] == b'-' {
                        i += 1;
                    }
                    while i < bytes.len() && bytes[i].is_ascii_digit() && i - num_start < 11 {
                        i += 1;
                    }
                    let param: Option<i64> = std::str::from_utf8(&bytes[num_start..i]).ok().and_then(|s| s.parse().ok());
                    if i < bytes.len() && bytes[i] == b' ' {
                        i += 1;
                    }
                    match word.as_str() {
                        "par" | "line" | "sect" | "page" | "row" => emit(&mut out, &state, &mut 0, '\n'),
                        "tab" | "cell" => emit(&mut out, &state, &mut 0, '\t'),
                        "emdash" => emit(&mut out, &state, &mut fallback, '—'),
                        "endash" => emit(&mut out, &state, &mut fallback, '–'),
                        "bullet" => emit(&mut out, &state, &mut fallback, '•'),
                        "lquote" => emit(&mut out, &state, &mut fallback, '‘'),
                        "rquote" => emit(&mut out, &state, &mut fallback, '’'),
                        "ldblquote" => emit(&mut out, &state, &mut fallback, '“'),
                        "rdblquote" => emit(&mut out, &state, &mut fallback, '”'),
                        "uc" => state.uc = param.unwrap_or(1).clamp(0, 10) as usize,
                        "u" => {
                            let n = param.unwrap_or(0);
                            let code = if n < 0 { n + 65_536 } else { n } as u32;
                            if !state.skip {
                                out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                            }
                            fallback = state.uc;
                        }
                        "bin" => i = i.saturating_add(param.unwrap_or(0).max(0) as usize),
                        w if SKIPPED.contains(&w) => state.skip = true,
                        _ => {}
                    }
                } else {
                    match c {
                        b'\\' | b'{' | b'}' => emit(&mut out, &state, &mut fallback, c as char),
                        b'\'' => {
                            let hex = bytes.get(i..i + 2).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
                            i += 2;
                            if let Some(byte) = hex {
                                emit(&mut out, &state, &mut fallback, cp1252(byte));
                            }
                        }
                        b'*' => state.skip = true,
                        b'~' => emit(&mut out, &state, &mut fallback, '\u{a0}'),
                        b'_' => emit(&mut out, &state, &mut fallback, '-'),
                        b'\r' | b'\n' => emit(&mut out, &state, &mut 0, '\n'),
                        _ => {}
                    }
                }
            }
            _ => emit(&mut out, &state, &mut fallback, cp1252(b)),
        }
    }
    Ok(out)
}

/// A byte of Windows-1252, RTF's usual code page.
fn cp1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}', '\u{90}', '‘', '’', '“',
        '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9f => HIGH[(b - 0x80) as usize],
        _ => b as char,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_tabs_paragraphs_and_escapes() {
        let rtf = br"{\rtf1\ansi\ansicpg1252{\fonttbl{\f0 Arial;}}{\*\generator Writer}\f0 Invoice\tab 4711\par Total: 99,00 \'80\par {\pict 0a0b}Gr\u252?\'dfe\par}";
        assert_eq!(text(rtf).unwrap(), "Invoice\t4711\nTotal: 99,00 €\nGrüße\n");
    }

    #[test]
    fn deep_nesting_is_refused_not_recursed() {
        let deep = format!("{{\\rtf1 {}x{}}}", "{".repeat(20_000), "}".repeat(20_000));
        assert!(text(deep.as_bytes()).unwrap_err().0.contains("levels deep"));
    }
}
