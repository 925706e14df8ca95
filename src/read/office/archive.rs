//! A ZIP archive's members, inflated through a counter: what one member and all of them together
//! may decode to is `limits.max_decoded`, checked on the bytes that come out, not on the sizes the
//! archive declares (a zip bomb declares small ones).

use super::super::{Limits, Unreadable};
use std::io::{Cursor, Read};

/// Members an Office file has: a few dozen; a workbook of a thousand sheets a few thousand.
const MAX_MEMBERS: usize = 100_000;

pub struct Archive<'a> {
    zip: zip::ZipArchive<Cursor<&'a [u8]>>,
    /// Bytes all members read so far may still decode to.
    left: u64,
    max: u64,
}

fn damaged() -> Unreadable {
    Unreadable("the Office file is damaged or truncated (its ZIP structure cannot be read); ask the sender for it again".into())
}

impl<'a> Archive<'a> {
    pub fn open(bytes: &'a [u8], limits: &Limits) -> Result<Archive<'a>, Unreadable> {
        let zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
            eprintln!("zip: {e}");
            damaged()
        })?;
        if zip.len() > MAX_MEMBERS {
            return Err(Unreadable(format!(
                "the Office file holds {} parts, more than any real document (at most {MAX_MEMBERS}); it is built to exhaust readers",
                zip.len()
            )));
        }
        Ok(Archive { zip, left: limits.max_decoded, max: limits.max_decoded })
    }

    pub fn has(&self, name: &str) -> bool {
        self.zip.index_for_name(name).is_some()
    }

    pub fn names(&self) -> Vec<String> {
        self.zip.file_names().flatten().map(|n| n.into_owned()).collect()
    }

    /// A member's bytes, or `None` when the archive has no such member.
    pub fn read(&mut self, name: &str) -> Result<Option<Vec<u8>>, Unreadable> {
        let Some(index) = self.zip.index_for_name(name) else { return Ok(None) };
        let member = self.zip.by_index(index).map_err(|e| {
            eprintln!("zip {name}: {e}");
            match e {
                zip::result::ZipError::UnsupportedArchive(_) => Unreadable(
                    "the Office file is encrypted or compressed in a way clerk does not read; ask the sender for an unprotected copy".into(),
                ),
                _ => damaged(),
            }
        })?;
        let mut out = Vec::new();
        let read = member.take(self.left + 1).read_to_end(&mut out);
        if out.len() as u64 > self.left {
            return Err(Unreadable(format!(
                "the Office file's contents decompress to more than {} (limits.max_decoded); it is a decompression bomb or damaged",
                crate::read::pool::human_bytes(self.max)
            )));
        }
        read.map_err(|e| {
            eprintln!("zip {name}: {e}");
            damaged()
        })?;
        self.left -= out.len() as u64;
        Ok(Some(out))
    }
}
