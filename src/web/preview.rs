//! Page images for people, drawn by a reader (never in the daemon's own process) and kept for a
//! while: an agent moving back and forth through the queue sees the same pages again. A page OCR
//! read turned is drawn turned the same way (its field boxes are on the turned page); an Office
//! file is drawn from the PDF LibreOffice makes of it, kept beside the blobs.

use super::problem::{ApiResult, Problem};
use super::Service;
use crate::read::protocol::PageImage;
use crate::store::Document;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Pages by (sha256, page number), oldest first.
type Recent = VecDeque<((String, u32), Arc<PageImage>)>;

/// The last pages drawn.
#[derive(Default)]
pub struct Previews {
    recent: Mutex<Recent>,
    /// Office files LibreOffice could not draw lately, with the sentence why: a page view does
    /// not start it again for each page or each look.
    undrawable: Mutex<VecDeque<(String, String)>>,
}

/// Enough for a few agents' current items.
const KEEP: usize = 48;

impl Previews {
    fn get(&self, key: &(String, u32)) -> Option<Arc<PageImage>> {
        let recent = self.recent.lock().expect("previews lock");
        recent.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }

    fn undrawable(&self, sha256: &str) -> Option<String> {
        let failed = self.undrawable.lock().expect("previews lock");
        failed.iter().find(|(k, _)| k == sha256).map(|(_, why)| why.clone())
    }

    fn put_undrawable(&self, sha256: &str, why: &str) {
        let mut failed = self.undrawable.lock().expect("previews lock");
        failed.push_back((sha256.to_string(), why.to_string()));
        while failed.len() > KEEP {
            failed.pop_front();
        }
    }

    fn put(&self, key: (String, u32), image: Arc<PageImage>) {
        let mut recent = self.recent.lock().expect("previews lock");
        recent.retain(|(k, _)| *k != key);
        recent.push_back((key, image));
        while recent.len() > KEEP {
            recent.pop_front();
        }
    }
}

/// Page `page` of the stored document, drawn as a PNG.
pub async fn page_image(s: &Service, doc: &Document, page: u32) -> ApiResult<Arc<PageImage>> {
    let key = (doc.sha256.clone(), page);
    if let Some(hit) = s.previews.get(&key) {
        return Ok(hit);
    }
    if let Some(why) = doc.original_gone() {
        return Err(Problem::gone(why));
    }
    let path = s.store.blobs.path(&doc.sha256).await.map_err(Problem::internal)?;
    let media_type = doc.media_type.as_deref().unwrap_or_default();
    let image = if crate::read::libreoffice::lays_out(media_type) {
        let pdf = office_pdf(s, &doc.sha256, &path, media_type).await.map_err(Problem::invalid)?;
        s.readers.render_file(&pdf, "libreoffice.pdf", page, 0).await
    } else {
        let turned = doc.page_details.iter().find(|p| p.number == page as i64).map_or(0, |p| p.turned as u32);
        s.readers.render_file(&path, &doc.original_name, page, turned).await
    }
    .map_err(Problem::invalid)?;
    let image = Arc::new(image);
    s.previews.put(key, image.clone());
    Ok(image)
}

/// LibreOffice's PDF of the Office file `sha256` (at `path`), drawn once and kept.
async fn office_pdf(s: &Service, sha256: &str, path: &std::path::Path, media_type: &str) -> Result<std::path::PathBuf, String> {
    if let Some(pdf) = s.store.blobs.derived(sha256, "pdf") {
        return Ok(pdf);
    }
    if let Some(why) = s.previews.undrawable(sha256) {
        return Err(why);
    }
    match s.readers.office_pdf(path, media_type).await {
        Ok(bytes) => s.store.blobs.keep_derived(sha256, "pdf", &bytes).await.map_err(|e| format!("the drawn pages could not be kept: {e}")),
        Err(why) => {
            s.previews.put_undrawable(sha256, &why);
            Err(why)
        }
    }
}
