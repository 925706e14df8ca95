//! `clerk backup DIR` while the daemon works, and the restore operations.md describes: the
//! restored store holds exactly the documents of the moment of the backup, with their originals
//! byte for byte, and a daemon runs on it. On SQLite and on PostgreSQL (pg_dump/pg_restore).

mod support;

use std::process::Command;
use support::Daemon;

fn ok(out: std::process::Output) -> String {
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{said}");
    said
}

/// (id, original name, sha256) of every document, and each one's original bytes.
fn documents(d: &Daemon) -> Vec<(i64, String, String, Vec<u8>)> {
    let list = d.json(&["documents", "list", "--json"]);
    let mut out: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|doc| {
            let id = doc["id"].as_i64().unwrap();
            let file = d.dir.path().join(format!("original-{id}"));
            ok(d.clerk(&["documents", "original", &id.to_string(), "--out", file.to_str().unwrap()]));
            let shown = d.json(&["documents", "show", &id.to_string(), "--json"]);
            let sha = shown["sha256"].as_str().unwrap().to_string();
            (id, doc["original_name"].as_str().unwrap().to_string(), sha, std::fs::read(file).unwrap())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_backup_made_while_the_daemon_works_restores_to_that_moment_with_every_original() {
    let mut d = Daemon::start();
    std::fs::remove_file(d.definitions.join("post-invoice-to-erp.yml")).ok();
    for name in ["invoice-acme.pdf", "invoice-acme-scan.png", "delivery-note.txt", "letter-unknown.pdf"] {
        d.drop_sample(name);
    }
    d.wait_settled(4);
    let at_backup = documents(&d);
    assert!(at_backup.iter().all(|(_, _, _, bytes)| !bytes.is_empty()));

    let backups = tempfile::tempdir().unwrap();
    let dir = backups.path().join("monday");
    let said = ok(d.clerk(&["backup", dir.to_str().unwrap()]));
    assert!(said.contains("backed up to"), "{said}");
    assert!(dir.join("BACKUP.txt").exists());
    let again = d.clerk(&["backup", dir.to_str().unwrap()]);
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("is not empty"));

    // Work after the backup is not in it.
    d.drop_sample("invoice-globex.pdf");
    d.wait_settled(5);
    d.stop();

    // The restore, as docs/operations.md says: into a stopped daemon's data folder (or an empty
    // database).
    let mut r = Daemon::new("");
    match &r.database {
        None => {
            assert!(dir.join("clerk.db").exists() && dir.join("blobs").is_dir());
            for f in ["clerk.db", "clerk.db-wal", "clerk.db-shm"] {
                std::fs::remove_file(r.data.join(f)).ok();
            }
            std::fs::remove_dir_all(r.data.join("blobs")).ok();
            let cp = Command::new("cp").arg("-a").arg(dir.join("clerk.db")).arg(dir.join("blobs")).arg(&r.data).status().unwrap();
            assert!(cp.success());
        }
        Some(db) => {
            assert!(dir.join("clerk.pgdump").exists());
            db.query("DROP SCHEMA public CASCADE; CREATE SCHEMA public");
            let restored = Command::new("pg_restore")
                .args(["--no-owner", "--no-privileges", "--dbname", &db.url])
                .arg(dir.join("clerk.pgdump"))
                .output()
                .unwrap();
            ok(restored);
        }
    }
    r.spawn();
    assert_eq!(documents(&r), at_backup, "the restored store is the store at the backup");
    // And it goes on working.
    r.drop_sample("invoice-globex.pdf");
    r.wait_settled(5);
}
