//! Secrets for bots: from `CLERK_SECRET_<NAME>`, or from a secrets file of `NAME=value` lines that
//! only its owner may read. Never from definition files.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Reads the secrets file, refusing one that others can read (it would leak every password).
pub fn read_file(path: &Path) -> Result<BTreeMap<String, String>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read the secrets file {}: {e}", path.display()))?;
    if meta.mode() & 0o077 != 0 {
        return Err(format!(
            "the secrets file {} can be read by others (mode {:o}); run `chmod 600 {}`",
            path.display(),
            meta.mode() & 0o777,
            path.display()
        ));
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc_geteuid() };
    if meta.uid() != euid {
        return Err(format!("the secrets file {} belongs to another user (uid {})", path.display(), meta.uid()));
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("cannot read the secrets file {}: {e}", path.display()))?;
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| format!("{}:{}: expected NAME=value (the value is not shown)", path.display(), n + 1))?;
        out.insert(k.trim().to_string(), v.to_string());
    }
    Ok(out)
}

extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

/// The values of `names`: `CLERK_SECRET_<NAME>` wins over the file. Missing names are returned
/// separately so the caller decides whether that is an error.
pub fn resolve(names: &[String], file: Option<&Path>) -> Result<(BTreeMap<String, String>, Vec<String>), String> {
    let from_file = match file {
        Some(f) => read_file(f)?,
        None => BTreeMap::new(),
    };
    let mut found = BTreeMap::new();
    let mut missing = vec![];
    for name in names {
        match std::env::var(format!("CLERK_SECRET_{name}")).ok().or_else(|| from_file.get(name).cloned()) {
            Some(v) => {
                found.insert(name.clone(), v);
            }
            None => missing.push(name.clone()),
        }
    }
    Ok((found, missing))
}
