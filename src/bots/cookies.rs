//! A cookie jar per run, for form-based web apps with session logins. Kept in the run's context,
//! so a run resumed after a restart still holds its session. Deliberately simple: cookies are
//! kept per host and sent back to it; `Max-Age=0` or an expiry in the past deletes one.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Jar(BTreeMap<String, BTreeMap<String, String>>);

impl Jar {
    /// The `Cookie` header for a request to `url`, if any cookie applies.
    pub fn header(&self, url: &reqwest::Url) -> Option<String> {
        let cookies = self.0.get(url.host_str()?)?;
        (!cookies.is_empty()).then(|| cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; "))
    }

    /// Takes the `Set-Cookie` headers of a response from `url`.
    pub fn store(&mut self, url: &reqwest::Url, headers: &reqwest::header::HeaderMap) {
        let Some(host) = url.host_str() else { return };
        for value in headers.get_all(reqwest::header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()) {
            let mut parts = value.split(';');
            let Some((name, val)) = parts.next().and_then(|nv| nv.split_once('=')) else { continue };
            let expired = parts.any(|a| {
                let a = a.trim().to_ascii_lowercase();
                a == "max-age=0" || a.starts_with("max-age=-")
            });
            let jar = self.0.entry(host.to_string()).or_default();
            if expired {
                jar.remove(name.trim());
            } else {
                jar.insert(name.trim().to_string(), val.trim().to_string());
            }
        }
    }
}
