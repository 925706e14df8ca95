//! One document of a split TIFF batch: chosen pages of a multi-page TIFF (a fax server's or a
//! scanner's) as a TIFF of their own. Each page's directory is copied with its strips or tiles
//! byte for byte — never decoded and encoded again, whatever the compression (CCITT G4, LZW,
//! JPEG, Deflate, PackBits) — so a part looks exactly as its pages did and costs no more. Only
//! the pointers to other structures (EXIF, GPS, sub-images) are left out: a part keeps what its
//! pages show. Every offset in the batch is checked against its length; BigTIFF is not cut.

use clerk::read::Unreadable;

/// Tags holding offsets of image data, each with the tag holding the data's lengths.
const DATA: [(u16, u16); 3] = [(273, 279), (324, 325), (513, 514)];
/// Tags pointing at other directories (sub-images, EXIF, GPS, interoperability) or free space.
const DROPPED: [u16; 6] = [330, 34665, 34853, 40965, 288, 289];
/// The page's number and the file's page count.
const PAGE_NUMBER: u16 = 297;
/// More entries than any real page's directory has.
const MAX_ENTRIES: usize = 1024;

struct Entry {
    tag: u16,
    kind: u16,
    count: u32,
    /// The value's bytes as stored (in the file's byte order).
    value: Vec<u8>,
}

/// The TIFF of `pages` (from 1, ascending, each once) of `bytes`.
pub fn cut(bytes: &[u8], pages: &[u32], max_pages: usize) -> Result<Vec<u8>, Unreadable> {
    let damaged = || Unreadable("clerk could not cut this batch into documents: its TIFF structure is damaged; split it by hand".into());
    let little = match bytes.get(..4) {
        Some(b"II*\0") => true,
        Some(b"MM\0*") => false,
        Some(b"II+\0") | Some(b"MM\0+") => {
            return Err(Unreadable("clerk cuts TIFF batches up to 4 GB (not BigTIFF); split this one by hand".into()))
        }
        _ => return Err(damaged()),
    };
    let r = Reader { bytes, little };
    // Every page's directory, in order, bounded (a loop of directories ends here too).
    let mut directories = vec![];
    let mut at = r.u32(4).ok_or_else(damaged)? as usize;
    while at != 0 {
        if directories.len() >= max_pages.max(1) || directories.contains(&at) {
            return Err(damaged());
        }
        directories.push(at);
        let n = r.u16(at).ok_or_else(damaged)? as usize;
        at = r.u32(at + 2 + 12 * n).ok_or_else(damaged)? as usize;
    }
    if let Some(missing) = pages.iter().find(|&&p| p == 0 || p as usize > directories.len()) {
        return Err(Unreadable(format!("the batch has {} page(s); there is no page {missing}", directories.len())));
    }
    if !pages.windows(2).all(|w| w[0] < w[1]) {
        return Err(Unreadable("a part's pages must be ascending, each once".into()));
    }
    let mut w = Writer { out: bytes[..4].to_vec(), little };
    w.u32(0);
    let mut link = 4; // where the next directory's offset goes
    for (k, &page) in pages.iter().enumerate() {
        let mut entries = r.entries(directories[page as usize - 1]).ok_or_else(damaged)?;
        entries.retain(|e| !DROPPED.contains(&e.tag));
        // PageNumber ("page 3 of 7" in the batch) counts the part's pages.
        for e in entries.iter_mut().filter(|e| e.tag == PAGE_NUMBER && e.kind == 3 && e.count == 2) {
            e.value = [k as u16, pages.len() as u16].iter().flat_map(|&v| w.short(v)).collect();
        }
        for (offsets, lengths) in DATA {
            let Some(lens) = entries.iter().find(|e| e.tag == lengths).map(|e| r.numbers(e)) else {
                entries.retain(|e| e.tag != offsets);
                continue;
            };
            let Some(e) = entries.iter_mut().find(|e| e.tag == offsets) else { continue };
            let (offs, lens) = (r.numbers(e).ok_or_else(damaged)?, lens.ok_or_else(damaged)?);
            if offs.len() != lens.len() {
                return Err(damaged());
            }
            let mut moved = Vec::with_capacity(offs.len());
            for (&o, &l) in offs.iter().zip(&lens) {
                let block = bytes.get(o as usize..(o as usize).checked_add(l as usize).ok_or_else(damaged)?).ok_or_else(damaged)?;
                moved.push(w.block(block) as u32);
            }
            // Offsets as LONGs, in the directory when there is one.
            e.kind = 4;
            e.count = moved.len() as u32;
            e.value = moved.iter().flat_map(|&v| w.long(v)).collect();
        }
        // Values longer than 4 bytes go before the directory, which points at them.
        let mut fixed = Vec::with_capacity(entries.len());
        for e in &entries {
            let field = if e.value.len() > 4 {
                let at = w.block(&e.value) as u32;
                w.long(at).to_vec()
            } else {
                pad4(&e.value)
            };
            fixed.push((e.tag, e.kind, e.count, field));
        }
        fixed.sort_by_key(|f| f.0);
        if w.out.len() % 2 == 1 {
            w.out.push(0);
        }
        let here = w.out.len() as u32;
        w.patch(link, here);
        w.u16(fixed.len() as u16);
        for (tag, kind, count, field) in fixed {
            w.u16(tag);
            w.u16(kind);
            w.u32(count);
            w.out.extend_from_slice(&field);
        }
        link = w.out.len();
        w.u32(0);
    }
    if w.out.len() > u32::MAX as usize {
        return Err(damaged());
    }
    Ok(w.out)
}

fn pad4(v: &[u8]) -> Vec<u8> {
    let mut f = v.to_vec();
    f.resize(4, 0);
    f
}

struct Reader<'a> {
    bytes: &'a [u8],
    little: bool,
}

impl Reader<'_> {
    fn u16(&self, at: usize) -> Option<u16> {
        let b: [u8; 2] = self.bytes.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if self.little { u16::from_le_bytes(b) } else { u16::from_be_bytes(b) })
    }

    fn u32(&self, at: usize) -> Option<u32> {
        let b: [u8; 4] = self.bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if self.little { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) })
    }

    fn entries(&self, at: usize) -> Option<Vec<Entry>> {
        let n = self.u16(at)? as usize;
        if n > MAX_ENTRIES {
            return None;
        }
        (0..n)
            .map(|i| {
                let e = at + 2 + 12 * i;
                let (tag, kind, count) = (self.u16(e)?, self.u16(e + 2)?, self.u32(e + 4)?);
                let size = [0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4].get(kind as usize).copied().filter(|s| *s > 0)?;
                let len = (count as usize).checked_mul(size)?;
                let value = if len <= 4 {
                    self.bytes.get(e + 8..e + 8 + len)?.to_vec()
                } else {
                    let from = self.u32(e + 8)? as usize;
                    self.bytes.get(from..from.checked_add(len)?)?.to_vec()
                };
                Some(Entry { tag, kind, count, value })
            })
            .collect()
    }

    /// An entry's SHORT or LONG values.
    fn numbers(&self, e: &Entry) -> Option<Vec<u64>> {
        let r = Reader { bytes: &e.value, little: self.little };
        match e.kind {
            3 => (0..e.count as usize).map(|i| r.u16(2 * i).map(u64::from)).collect(),
            4 | 13 => (0..e.count as usize).map(|i| r.u32(4 * i).map(u64::from)).collect(),
            _ => None,
        }
    }
}

struct Writer {
    out: Vec<u8>,
    little: bool,
}

impl Writer {
    fn long(&self, v: u32) -> [u8; 4] {
        if self.little {
            v.to_le_bytes()
        } else {
            v.to_be_bytes()
        }
    }

    fn u32(&mut self, v: u32) {
        let b = self.long(v);
        self.out.extend_from_slice(&b);
    }

    fn short(&self, v: u16) -> [u8; 2] {
        if self.little {
            v.to_le_bytes()
        } else {
            v.to_be_bytes()
        }
    }

    fn u16(&mut self, v: u16) {
        let b = self.short(v);
        self.out.extend_from_slice(&b);
    }

    /// Appends `block` on a word boundary; its offset.
    fn block(&mut self, block: &[u8]) -> usize {
        if self.out.len() % 2 == 1 {
            self.out.push(0);
        }
        let at = self.out.len();
        self.out.extend_from_slice(block);
        at
    }

    fn patch(&mut self, at: usize, v: u32) {
        let b = self.long(v);
        self.out[at..at + 4].copy_from_slice(&b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A little-endian TIFF of one directory at 8 with `entries` (tag, type, count, value) and
    /// `next` as its next directory's offset.
    fn tiff(entries: &[(u16, u16, u32, u32)], next: u32) -> Vec<u8> {
        let mut b = b"II*\0".to_vec();
        b.extend(8u32.to_le_bytes());
        b.extend((entries.len() as u16).to_le_bytes());
        for &(tag, kind, count, value) in entries {
            b.extend(tag.to_le_bytes());
            b.extend(kind.to_le_bytes());
            b.extend(count.to_le_bytes());
            b.extend(value.to_le_bytes());
        }
        b.extend(next.to_le_bytes());
        b.extend(b"STRIPDATA");
        b
    }

    #[test]
    fn a_page_is_copied_with_its_strip() {
        let data_at = 8 + 2 + 2 * 12 + 4;
        let file = tiff(&[(273, 4, 1, data_at), (279, 4, 1, 9)], 0);
        let part = cut(&file, &[1], 10).unwrap();
        let r = Reader { bytes: &part, little: true };
        let entries = r.entries(r.u32(4).unwrap() as usize).unwrap();
        let offset = r.numbers(&entries[0]).unwrap()[0] as usize;
        assert_eq!(&part[offset..offset + 9], b"STRIPDATA");
    }

    #[test]
    fn hostile_structures_end_with_a_sentence() {
        // A directory that is its own next one.
        assert!(cut(&tiff(&[], 8), &[1], 10).is_err());
        // A strip past the end of the file, and one whose length wraps around.
        assert!(cut(&tiff(&[(273, 4, 1, 30), (279, 4, 1, 1 << 30)], 0), &[1], 10).is_err());
        assert!(cut(&tiff(&[(273, 4, 1, u32::MAX), (279, 4, 1, u32::MAX)], 0), &[1], 10).is_err());
        // Offsets and lengths that do not pair up, a value beyond the file, no such page.
        assert!(cut(&tiff(&[(273, 4, 2, 1000), (279, 4, 1, 9)], 0), &[1], 10).is_err());
        assert!(cut(&tiff(&[(270, 2, 100, 5000)], 0), &[1], 10).is_err());
        assert!(cut(&tiff(&[], 0), &[2], 10).is_err());
        assert!(cut(b"II+\0\x08\0\0\0", &[1], 10).is_err());
    }
}
