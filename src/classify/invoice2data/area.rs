//! `area:` — a field read from a rectangle of the page instead of the whole text, as invoice2data
//! 1.0.1's pdftotext reader crops it (`input/pdftotext.py`, `_crop`): the words whose boxes
//! overlap the rectangle, in lines by their tops, left to right.

use crate::read::TextBox;

/// Words whose tops are at most this many points apart make one line.
const LINE_TOLERANCE: f64 = 3.0;

/// One page's words, by page number (1-based).
pub type PageBoxes = (u32, Vec<TextBox>);

/// A rectangle in pixels at `r` dpi (`pdftotext -x -y -W -H -r`) on pages `f` to `l`.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    pub first: i64,
    pub last: i64,
    pub r: f64,
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Area {
    /// The text of the words in the rectangle: one line per row of words, words joined by a
    /// space. Empty when no word is there.
    pub fn crop(&self, pages: &[PageBoxes]) -> String {
        // The same operations in the same order as invoice2data, so edges are the same doubles.
        let factor = 72.0 / self.r;
        let (x0, y0) = (self.x * factor, self.y * factor);
        let (x1, y1) = ((self.x + self.w) * factor, (self.y + self.h) * factor);
        let mut selected: Vec<(u32, &TextBox)> = pages
            .iter()
            .filter(|(n, _)| self.first <= *n as i64 && *n as i64 <= self.last)
            .flat_map(|(n, words)| words.iter().map(move |w| (*n, w)))
            .filter(|(_, w)| w.x0 < x1 && w.x1 > x0 && w.y0 < y1 && w.y1 > y0)
            .collect();
        // Python's sort is stable; so is this one.
        selected.sort_by(|a, b| (a.0, a.1.y0, a.1.x0).partial_cmp(&(b.0, b.1.y0, b.1.x0)).unwrap_or(std::cmp::Ordering::Equal));

        let mut lines: Vec<Vec<&TextBox>> = vec![];
        let mut last: Option<(u32, f64)> = None;
        for (page, word) in selected {
            match (last, lines.last_mut()) {
                (Some((p, y)), Some(line)) if p == page && (word.y0 - y).abs() <= LINE_TOLERANCE => line.push(word),
                _ => lines.push(vec![word]),
            }
            last = Some((page, word.y0));
        }
        lines
            .into_iter()
            .map(|mut line| {
                line.sort_by(|a, b| a.x0.partial_cmp(&b.x0).unwrap_or(std::cmp::Ordering::Equal));
                line.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ")
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(x0: f64, y0: f64, text: &str) -> TextBox {
        TextBox { x0, y0, x1: x0 + 20.0, y1: y0 + 8.0, text: text.into() }
    }

    #[test]
    fn words_in_the_rectangle_make_lines_left_to_right() {
        let page1 = vec![
            word(100.0, 52.0, "Street"),
            word(40.0, 50.0, "Main"),
            word(40.0, 70.0, "1234 AB"),
            word(400.0, 50.0, "outside"),
            word(40.0, 300.0, "below"),
        ];
        let pages = vec![(1, page1), (2, vec![word(40.0, 50.0, "page two")])];
        // 0..300 x 0..200 pt, given in pixels at 144 dpi.
        let area = Area { first: 1, last: 1, r: 144.0, x: 0.0, y: 0.0, w: 600.0, h: 400.0 };
        assert_eq!(area.crop(&pages), "Main Street\n1234 AB");
        let both = Area { last: 2, ..area.clone() };
        assert_eq!(both.crop(&pages), "Main Street\n1234 AB\npage two");
        let empty = Area { first: 3, last: 3, ..area };
        assert_eq!(empty.crop(&pages), "");
    }

    #[test]
    fn a_word_touching_the_edge_only_is_outside() {
        let pages = vec![(1, vec![word(100.0, 100.0, "edge")])];
        // The rectangle ends exactly where the word starts (x1 = 100 pt).
        let area = Area { first: 1, last: 1, r: 72.0, x: 0.0, y: 0.0, w: 100.0, h: 500.0 };
        assert_eq!(area.crop(&pages), "");
        let overlapping = Area { w: 100.5, ..area };
        assert_eq!(overlapping.crop(&pages), "edge");
    }
}
