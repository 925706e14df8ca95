//! Secrets never appear in logs, run records, errors or dry runs: every place that shows text a
//! secret could reach passes it through a `Redactor`, which knows each secret in the forms it
//! travels in (as is, percent-encoded, base64, JSON-escaped).

pub struct Redactor {
    needles: Vec<String>,
}

pub const MASK: &str = "***";

impl Redactor {
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Redactor {
        let mut needles = vec![];
        for s in secrets.into_iter().filter(|s| s.len() >= 3) {
            needles.push(s.to_string());
            needles.push(super::render::url_encode(s));
            // application/x-www-form-urlencoded: spaces as `+`.
            needles.push(super::render::url_encode(s).replace("%20", "+"));
            needles.push(s.replace(' ', "+"));
            needles.push(base64(s.as_bytes()));
            needles.push(serde_json::to_string(s).unwrap_or_default().trim_matches('"').to_string());
        }
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        needles.dedup();
        needles.retain(|n| !n.is_empty());
        Redactor { needles }
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for n in &self.needles {
            if out.contains(n.as_str()) {
                out = out.replace(n.as_str(), MASK);
            }
        }
        out
    }
}

pub fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_a_secret_is_masked() {
        let r = Redactor::new(["p@ss word!"]);
        assert_eq!(r.redact("password=p%40ss%20word%21"), "password=***");
        assert_eq!(r.redact("raw p@ss word! here"), "raw *** here");
        assert_eq!(r.redact("Basic cEBzcyB3b3JkIQ=="), "Basic ***");
        assert_eq!(r.redact("form p@ss+word!"), "form ***");
        assert_eq!(base64(b"user:pw"), "dXNlcjpwdw==");
    }
}
