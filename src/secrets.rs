//! Secrets for bots: from `CLERK_SECRET_<NAME>`, or from a secrets file of `NAME=value` lines that
//! only its owner may read. Never from definition files.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Reads the secrets file, refusing one that others could read or change (it would leak every
/// password). Allowed: owned by this user, or by root with this process's group able to read it
/// (`root:clerk 0640`, as an admin installs it for the service); never readable by everyone, and
/// never writable by anyone but its owner.
pub fn read_file(path: &Path) -> Result<BTreeMap<String, String>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read the secrets file {}: {e}", path.display()))?;
    // SAFETY: geteuid and getegid have no preconditions and cannot fail.
    let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let shown = path.display().to_string();
    check_owner(meta.mode(), meta.uid(), meta.gid(), euid, egid)
        .map_err(|why| format!("the secrets file {shown} {}", why.replace("FILE", &shown)))?;
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

/// Why a secrets file with this mode and owner may not be trusted, if it may not.
fn check_owner(mode: u32, uid: u32, gid: u32, euid: u32, egid: u32) -> Result<(), String> {
    let mode = mode & 0o7777;
    if mode & 0o007 != 0 {
        return Err(format!("can be read by every user (mode {mode:o}); run `chmod o= FILE` (0600, or 0640 for the service's group)"));
    }
    if mode & 0o020 != 0 {
        return Err(format!("can be changed by its group (mode {mode:o}); run `chmod g-w FILE`"));
    }
    if uid != euid && uid != 0 {
        return Err(format!("belongs to another user (uid {uid}); it must be this service's own or root's"));
    }
    if mode & 0o040 != 0 && gid != egid {
        return Err(format!(
            "can be read by the members of group {gid}, not this service's group ({egid}); run `chgrp` to the service's group or `chmod g= FILE`"
        ));
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::check_owner;

    #[test]
    fn a_secrets_file_is_trusted_only_when_no_one_else_can_read_or_change_it() {
        let (me, my_group, other, other_group) = (1000, 1000, 1001, 1001);
        assert!(check_owner(0o600, me, other_group, me, my_group).is_ok(), "mine, mine alone");
        assert!(check_owner(0o640, 0, my_group, me, my_group).is_ok(), "root:clerk 0640, as an admin installs it");
        assert!(check_owner(0o640, me, my_group, me, my_group).is_ok());
        assert!(check_owner(0o644, me, my_group, me, my_group).unwrap_err().contains("every user"));
        assert!(check_owner(0o660, 0, my_group, me, my_group).unwrap_err().contains("changed by its group"));
        assert!(check_owner(0o640, 0, other_group, me, my_group).unwrap_err().contains("not this service's group"));
        assert!(check_owner(0o600, other, my_group, me, my_group).unwrap_err().contains("another user"));
    }
}
