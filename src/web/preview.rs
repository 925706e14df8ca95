//! Page images for people, drawn by a reader (never in the daemon's own process) and kept for a
//! while: an agent moving back and forth through the queue sees the same pages again.

use super::problem::{ApiResult, Problem};
use super::Service;
use crate::read::protocol::PageImage;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Pages by (sha256, page number), oldest first.
type Recent = VecDeque<((String, u32), Arc<PageImage>)>;

/// The last pages drawn.
#[derive(Default)]
pub struct Previews {
    recent: Mutex<Recent>,
}

/// Enough for a few agents' current items.
const KEEP: usize = 48;

impl Previews {
    fn get(&self, key: &(String, u32)) -> Option<Arc<PageImage>> {
        let recent = self.recent.lock().expect("previews lock");
        recent.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
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

/// Page `page` of the stored document `sha256` (named `name`), drawn as a PNG.
pub async fn page_image(s: &Service, sha256: &str, name: &str, page: u32) -> ApiResult<Arc<PageImage>> {
    let key = (sha256.to_string(), page);
    if let Some(hit) = s.previews.get(&key) {
        return Ok(hit);
    }
    let path = s.store.blobs.path(sha256).await.map_err(Problem::internal)?;
    let image = s.readers.render_file(&path, name, page).await.map_err(Problem::invalid)?;
    let image = Arc::new(image);
    s.previews.put(key, image.clone());
    Ok(image)
}
