//! One document of a split batch: chosen pages of the batch's PDF as a PDF of their own, made
//! with lopdf from the batch's own objects. Page contents and images are copied as they are, never
//! decoded and encoded again, so a part looks exactly as its pages did in the batch and costs no
//! more than they did.

use clerk::read::Unreadable;
use lopdf::Document;
use std::collections::BTreeSet;

/// The PDF of `pages` (from 1, ascending, each once) of `bytes`.
pub fn cut(bytes: &[u8], pages: &[u32]) -> Result<Vec<u8>, Unreadable> {
    let mut doc = Document::load_mem(bytes).map_err(|e| {
        eprintln!("clerk-reader: lopdf: {e}");
        Unreadable("clerk could not cut this batch into documents: its PDF structure is damaged beyond what clerk can copy pages from; split it by hand".into())
    })?;
    let all = doc.get_pages();
    let wanted: BTreeSet<u32> = pages.iter().copied().collect();
    if let Some(missing) = wanted.iter().find(|p| !all.contains_key(p)) {
        return Err(Unreadable(format!("the batch has {} page(s); there is no page {missing}", all.len())));
    }
    if wanted.len() != pages.len() || !pages.windows(2).all(|w| w[0] < w[1]) {
        return Err(Unreadable("a part's pages must be ascending, each once".into()));
    }
    let others: Vec<u32> = all.keys().copied().filter(|p| !wanted.contains(p)).collect();
    doc.delete_pages(&others);
    // Outlines, structure trees and forms point at pages of the whole batch: a part would keep
    // the others' objects alive through them, and a viewer would offer links to nowhere.
    if let Ok(catalog) = doc.catalog_mut() {
        for key in [&b"Outlines"[..], b"StructTreeRoot", b"AcroForm", b"Names", b"OpenAction", b"PageLabels"] {
            catalog.remove(key);
        }
    }
    doc.prune_objects();
    let mut out = Vec::with_capacity(bytes.len() / 2);
    doc.save_to(&mut out).map_err(|e| {
        eprintln!("clerk-reader: lopdf save: {e}");
        Unreadable("clerk could not write the document cut from this batch (see the log)".into())
    })?;
    Ok(out)
}

/// Object count, to tell that a part dropped the other pages' objects (tests).
#[cfg(test)]
fn objects(bytes: &[u8]) -> usize {
    Document::load_mem(bytes).map(|d| d.objects.values().filter(|o| !matches!(o, lopdf::Object::Null)).count()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lopdf::{dictionary, Object, Stream};

    /// A PDF of `n` pages, each with its own content stream naming its number.
    fn pdf(n: u32) -> Vec<u8> {
        let mut doc = Document::with_version("1.5");
        let pages_id = doc.new_object_id();
        let mut kids = vec![];
        for i in 1..=n {
            let content = format!("BT /F1 12 Tf 72 720 Td (page {i}) Tj ET");
            let c = doc.add_object(Stream::new(dictionary! {}, content.into_bytes()));
            let page = doc.add_object(dictionary! { "Type" => "Page", "Parent" => pages_id, "Contents" => c });
            kids.push(Object::Reference(page));
        }
        doc.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => n as i64, "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()] }),
        );
        let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        doc.trailer.set("Root", catalog);
        let mut out = vec![];
        doc.save_to(&mut out).unwrap();
        out
    }

    fn page_texts(bytes: &[u8]) -> Vec<String> {
        let doc = Document::load_mem(bytes).unwrap();
        doc.get_pages().values().map(|&id| String::from_utf8_lossy(&doc.get_page_content(id)).into_owned()).collect()
    }

    #[test]
    fn a_part_holds_its_pages_in_order_and_no_others() {
        let batch = pdf(6);
        let part = cut(&batch, &[2, 3, 5]).unwrap();
        let texts = page_texts(&part);
        assert_eq!(texts.len(), 3);
        for (t, n) in texts.iter().zip([2, 3, 5]) {
            assert!(t.contains(&format!("(page {n})")), "{t}");
        }
        assert!(objects(&part) < objects(&batch), "the other pages' objects were pruned");
    }

    #[test]
    fn pages_out_of_range_or_order_are_refused_with_a_sentence() {
        let batch = pdf(3);
        assert!(cut(&batch, &[4]).unwrap_err().0.contains("no page 4"));
        assert!(cut(&batch, &[2, 1]).unwrap_err().0.contains("ascending"));
        assert!(cut(b"not a pdf", &[1]).unwrap_err().0.contains("split it by hand"));
    }
}
