//! A page as a person reads a form: lines of words, and within a line the cells that a wider gap
//! than a space separates. From the word boxes when the document has them (text layer or OCR),
//! else from `pdftotext -layout` text, whose columns stand in for positions (a run of two or
//! more spaces separates cells there).

use crate::read::TextBox;

#[derive(Debug, Clone)]
pub struct Cell {
    pub text: String,
    pub page: u32,
    /// Left, right, top and bottom; points for boxes, character columns and line numbers for text.
    pub x0: f64,
    pub x1: f64,
    pub y0: f64,
    pub y1: f64,
    pub line: usize,
}

#[derive(Debug, Default)]
pub struct Layout {
    pub cells: Vec<Cell>,
    /// Each line's cells, left to right, lines top to bottom and page by page.
    pub lines: Vec<Vec<usize>>,
}

impl Layout {
    pub fn from_boxes(pages: &[(u32, Vec<TextBox>)]) -> Layout {
        let mut layout = Layout::default();
        for (page, boxes) in pages {
            let words: Vec<&TextBox> = boxes.iter().filter(|b| !b.text.trim().is_empty()).collect();
            // A scan fed askew slopes its lines: over a wide table a degree and a half drifts a
            // whole line. Words are set straight first, as OCRmyPDF's deskew would.
            let slope = skew(&words);
            let straight: Vec<TextBox> = words
                .iter()
                .map(|w| {
                    let dy = slope * (w.x0 + w.x1) / 2.0;
                    TextBox { y0: w.y0 - dy, y1: w.y1 - dy, ..(*w).clone() }
                })
                .collect();
            let mut words: Vec<&TextBox> = straight.iter().collect();
            words.sort_by(|a, b| (a.y0 + a.y1).total_cmp(&(b.y0 + b.y1)));
            // A word joins the line whose vertical middle falls inside it.
            let mut lines: Vec<Vec<&TextBox>> = vec![];
            for w in words {
                let mid = (w.y0 + w.y1) / 2.0;
                match lines.last_mut() {
                    Some(line) if line.iter().any(|o| mid > o.y0 && mid < o.y1) => line.push(w),
                    _ => lines.push(vec![w]),
                }
            }
            for line in &mut lines {
                line.sort_by(|a, b| a.x0.total_cmp(&b.x0));
            }
            let space = word_space(&lines);
            for line in lines {
                let height = line.iter().map(|w| w.y1 - w.y0).fold(0.0, f64::max).max(1.0);
                let mut cells: Vec<Cell> = vec![];
                let mut parted = false;
                for w in line {
                    // "Name · USt-IdNr. DE… · IBAN …": a mark between a footer's parts ends one.
                    if is_separator(w.text.trim()) {
                        parted = true;
                        continue;
                    }
                    match cells.last_mut().filter(|_| !std::mem::take(&mut parted)) {
                        // A gap wider than about a letter's height is a new column — or, where
                        // the page spaces its words that wide (OCR text layers set each word
                        // where the scan had it), well over the page's usual space.
                        Some(c) if w.x0 - c.x1 < (0.8 * height).max(2.5 * space) => {
                            c.text.push(' ');
                            c.text.push_str(w.text.trim());
                            c.x1 = c.x1.max(w.x1);
                            c.y0 = c.y0.min(w.y0);
                            c.y1 = c.y1.max(w.y1);
                        }
                        _ => cells.push(Cell {
                            text: w.text.trim().to_string(),
                            page: *page,
                            x0: w.x0,
                            x1: w.x1,
                            y0: w.y0,
                            y1: w.y1,
                            line: 0,
                        }),
                    }
                }
                layout.push_line(cells);
            }
        }
        layout
    }

    pub fn from_text(text: &str) -> Layout {
        let mut layout = Layout::default();
        let mut y = 0.0;
        for (page, page_text) in text.split('\u{c}').enumerate() {
            for line in page_text.lines() {
                y += 1.0;
                let chars: Vec<char> = line.chars().collect();
                let mut cells: Vec<Cell> = vec![];
                let mut i = 0;
                while i < chars.len() {
                    if chars[i].is_whitespace() {
                        i += 1;
                        continue;
                    }
                    let start = i;
                    // To the first run of two spaces.
                    while i < chars.len() && !(chars[i].is_whitespace() && chars.get(i + 1).is_none_or(|c| c.is_whitespace())) {
                        i += 1;
                    }
                    // Parts a separator mark stands between are cells of their own.
                    let mut from = start;
                    for (k, word) in split_words(&chars, start, i) {
                        if is_separator(&word) {
                            push_text_cell(&mut cells, &chars, from, k, page, y);
                            from = k + word.chars().count();
                        }
                    }
                    push_text_cell(&mut cells, &chars, from, i, page, y);
                }
                layout.push_line(cells);
            }
        }
        layout
    }

    fn push_line(&mut self, cells: Vec<Cell>) {
        if cells.is_empty() {
            return;
        }
        let line = self.lines.len();
        let mut ids = vec![];
        for mut c in cells {
            c.line = line;
            ids.push(self.cells.len());
            self.cells.push(c);
        }
        self.lines.push(ids);
    }

    /// The cell right of `id` on its line.
    pub fn right_of(&self, id: usize) -> Option<usize> {
        let line = &self.lines[self.cells[id].line];
        line.iter().position(|&c| c == id).and_then(|i| line.get(i + 1)).copied()
    }

    /// The first cell below `id` within two lines whose horizontal extent overlaps it.
    pub fn below(&self, id: usize) -> Option<usize> {
        let c = &self.cells[id];
        let height = (c.y1 - c.y0).max(1.0);
        for line in self.lines.iter().skip(c.line + 1).take(2) {
            let first = &self.cells[line[0]];
            if first.page != c.page || first.y0 - c.y1 > 2.5 * height {
                return None;
            }
            if let Some(&b) = line.iter().find(|&&b| {
                let o = &self.cells[b];
                o.x0 < c.x1 && o.x1 > c.x0
            }) {
                return Some(b);
            }
        }
        None
    }
}

/// How much a page's lines climb or fall per point across (0 when level or too few words to
/// tell): the median slope from each word to the nearest word right of it on its line.
fn skew(words: &[&TextBox]) -> f64 {
    let mid = |w: &TextBox| (w.y0 + w.y1) / 2.0;
    // By height on the page, so each word looks only at the few near its own height.
    let mut by_mid: Vec<&TextBox> = words.to_vec();
    by_mid.sort_by(|a, b| mid(a).total_cmp(&mid(b)));
    let mut slopes: Vec<f64> = vec![];
    for (i, w) in by_mid.iter().enumerate() {
        let h = (w.y1 - w.y0).max(1.0);
        let near = |o: &&&TextBox| (mid(o) - mid(w)).abs() < 0.5 * h;
        let above = by_mid[..i].iter().rev().take_while(near);
        let below = by_mid[i + 1..].iter().take_while(near);
        let next = above
            .chain(below)
            .filter(|o| o.x0 > w.x1 && o.x0 - w.x1 < 3.0 * h)
            .min_by(|a, b| a.x0.total_cmp(&b.x0));
        if let Some(o) = next {
            let dx = (o.x0 + o.x1) / 2.0 - (w.x0 + w.x1) / 2.0;
            if dx > 0.0 {
                slopes.push((mid(o) - mid(w)) / dx);
            }
        }
    }
    if slopes.len() < 10 {
        return 0.0;
    }
    slopes.sort_by(f64::total_cmp);
    // Beyond about 3 degrees is not a sheet fed askew but a page turned; leave it.
    let median = slopes[slopes.len() / 2];
    if median.abs() > 0.05 {
        0.0
    } else {
        median
    }
}

/// The page's usual gap between two words of a line, 0 when too few to tell.
/// A mark that parts a line's pieces ("Muster GmbH · Hauptstr. 1 · USt-IdNr. …").
fn is_separator(word: &str) -> bool {
    matches!(word, "·" | "|" | "•" | "∙" | "‧" | "◦")
}

/// The words of `chars[from..to]`, each with where it starts.
fn split_words(chars: &[char], from: usize, to: usize) -> Vec<(usize, String)> {
    let mut out = vec![];
    let mut i = from;
    while i < to {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        while i < to && !chars[i].is_whitespace() {
            i += 1;
        }
        out.push((start, chars[start..i].iter().collect()));
    }
    out
}

fn push_text_cell(cells: &mut Vec<Cell>, chars: &[char], from: usize, to: usize, page: usize, y: f64) {
    let text = chars[from..to].iter().collect::<String>().trim().to_string();
    if text.is_empty() {
        return;
    }
    cells.push(Cell { text, page: page as u32 + 1, x0: from as f64, x1: to as f64, y0: y - 1.0, y1: y, line: 0 });
}

fn word_space(lines: &[Vec<&TextBox>]) -> f64 {
    let mut gaps: Vec<f64> =
        lines.iter().flat_map(|l| l.windows(2).map(|p| p[1].x0 - p[0].x1)).filter(|g| *g > 0.0).collect();
    // Too few to say what is usual.
    if gaps.len() < 5 {
        return 0.0;
    }
    // The narrowest tenth: on most pages the gaps between columns outnumber those between the
    // words of a label, so the median would be a column's.
    gaps.sort_by(f64::total_cmp);
    gaps[gaps.len() / 10]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_columns_make_cells_and_neighbours() {
        let text = "ACME GmbH                 Invoice No.:  RE-2024-17\n                          Date:   12.03.2024\nTotal          Tax\n1,190.00       190.00\n";
        let l = Layout::from_text(text);
        let texts: Vec<&str> = l.cells.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["ACME GmbH", "Invoice No.:", "RE-2024-17", "Date:", "12.03.2024", "Total", "Tax", "1,190.00", "190.00"]);
        assert_eq!(l.right_of(1), Some(2));
        assert_eq!(l.below(5), Some(7));
        assert_eq!(l.below(6), Some(8));
    }

    #[test]
    fn boxes_make_lines_and_columns() {
        let b = |x0: f64, y0: f64, x1: f64, t: &str| TextBox { x0, y0, x1, y1: y0 + 10.0, text: t.into() };
        let page = vec![b(10.0, 100.0, 50.0, "Invoice"), b(53.0, 101.0, 70.0, "no:"), b(200.0, 100.0, 240.0, "4711"), b(10.0, 115.0, 40.0, "Total")];
        let l = Layout::from_boxes(&[(1, page)]);
        let texts: Vec<&str> = l.cells.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["Invoice no:", "4711", "Total"]);
        assert_eq!(l.lines.len(), 2);
        // A footer's parts between marks are cells of their own, from boxes and from text.
        let foot = vec![b(10.0, 300.0, 60.0, "ACME"), b(63.0, 300.0, 66.0, "·"), b(69.0, 300.0, 100.0, "USt-IdNr."), b(103.0, 300.0, 160.0, "DE136695976")];
        let l = Layout::from_boxes(&[(1, foot)]);
        assert_eq!(l.cells.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(), ["ACME", "USt-IdNr. DE136695976"]);
        let l = Layout::from_text("ACME GmbH · USt-IdNr. DE136695976 | IBAN DE89");
        assert_eq!(l.cells.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(), ["ACME GmbH", "USt-IdNr. DE136695976", "IBAN DE89"]);
    }

    #[test]
    fn a_page_scanned_askew_is_read_in_straight_lines() {
        // Two rows of a wide table, the sheet turned 1.5 degrees: the right end of the first row
        // has sunk to the second row's height.
        let slope = (1.5f64).to_radians().tan();
        let mut page = vec![];
        for (row, y) in [(0, 100.0), (1, 114.0)] {
            for (i, x) in [50.0, 110.0, 170.0, 230.0, 290.0, 350.0, 410.0, 470.0, 530.0].iter().enumerate() {
                let y0 = y + slope * x;
                page.push(TextBox { x0: *x, y0, x1: x + 40.0, y1: y0 + 10.0, text: format!("r{row}c{i}") });
            }
        }
        let l = Layout::from_boxes(&[(1, page)]);
        assert_eq!(l.lines.len(), 2, "{:?}", l.cells.iter().map(|c| (&c.text, c.line)).collect::<Vec<_>>());
        assert!(l.cells.iter().all(|c| c.text.starts_with(&format!("r{}", c.line))));
    }

    #[test]
    fn words_an_ocr_layer_spaces_wide_stay_one_cell() {
        // Tesseract's PDF: each word where the scan had it, about a letter's height apart.
        let b = |x0: f64, y0: f64, x1: f64, t: &str| TextBox { x0, y0, x1, y1: y0 + 11.0, text: t.into() };
        let page = vec![
            b(117.0, 132.0, 154.0, "Invoice"),
            b(164.0, 132.0, 178.0, "No:"),
            b(188.0, 132.0, 236.0, "INV-7731"),
            b(115.0, 282.0, 143.0, "Total"),
            b(154.0, 282.0, 178.0, "Due:"),
            b(190.0, 282.0, 209.0, "EUR"),
            b(222.0, 282.0, 259.0, "163.03"),
            b(420.0, 282.0, 450.0, "Page"),
        ];
        let l = Layout::from_boxes(&[(1, page)]);
        let texts: Vec<&str> = l.cells.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["Invoice No: INV-7731", "Total Due: EUR 163.03", "Page"]);
    }
}
