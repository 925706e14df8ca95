//! The command line's commands, one module each; main.rs parses and dispatches.

pub mod audit;
pub mod bots;
pub mod doctypes;
pub mod documents;
pub mod exceptions;
pub mod mail;
pub mod runs;
pub mod read;
pub mod reference;
pub mod split;
pub mod users;
pub mod vendors;

use clerk::config::{Settings, SETTINGS_FILES};
use clerk::store::Store;
use std::path::Path;

/// The store a command works on. It must exist already: a command run from the wrong folder,
/// or with a typo'd `--data`, must not quietly make a new empty store (`clerk init` makes one,
/// and so does the daemon on its first start). Run as root on a store that belongs to the
/// service's user, the command becomes that user first, so the files it writes stay the
/// daemon's.
pub async fn open_store(s: &Settings) -> anyhow::Result<Store> {
    if s.store.is_none() && !s.data.join("clerk.db").exists() {
        anyhow::bail!("no clerk store in {}; {}", s.data.display(), where_looked(s));
    }
    become_owner_of(&s.data)?;
    Store::open_at(&s.store_location()).await
}

/// `clerk init`: makes the store the settings name (or opens and migrates it when it exists).
pub async fn init_store(s: &Settings) -> anyhow::Result<Store> {
    if s.data.exists() {
        become_owner_of(&s.data)?;
    }
    Store::open_at(&s.store_location()).await
}

/// Says which settings file was read, or where clerk looked for one.
pub fn where_looked(s: &Settings) -> String {
    match &s.file {
        Some(f) => format!("the settings are {} (`clerk init` makes a store there; --data or --store point at another)", f.display()),
        None => format!(
            "no settings file was found ({}; --config or CLERK_CONFIG names one), so the data folder is {}: run `clerk init` to make a store there",
            SETTINGS_FILES.join(", "),
            s.data.display()
        ),
    }
}

/// As root, takes on the user and group that own `data` (the service's user), so that a
/// database journal or a blob written now can still be written by the daemon.
fn become_owner_of(data: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(());
    }
    let Ok(meta) = std::fs::metadata(data) else { return Ok(()) };
    if meta.uid() == 0 {
        return Ok(());
    }
    // SAFETY: plain system calls on integers; each result is checked. Groups first, then the
    // group, then the user (after setuid the others are no longer allowed).
    let failed = unsafe {
        libc::setgroups(0, std::ptr::null()) != 0 || libc::setgid(meta.gid()) != 0 || libc::setuid(meta.uid()) != 0
    };
    if failed {
        anyhow::bail!(
            "cannot act as the owner of {} (uid {}): {}",
            data.display(),
            meta.uid(),
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}
