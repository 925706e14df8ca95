//! The two store backends are made from one list of migrations: the same tables, columns and
//! indexes on SQLite and on PostgreSQL (the rest of the suite runs on both, see tests/run.sh).

mod support;

use clerk::store::{Location, Store};
use sqlx::Row;
use support::TestDatabase;

#[tokio::test]
async fn both_backends_migrate_to_the_same_schema() {
    let dir = tempfile::tempdir().unwrap();
    Store::open(dir.path()).await.unwrap();
    let db = TestDatabase::create();
    let at = Location { url: Some(db.url.clone()), data: dir.path().join("pg"), blobs: None };
    Store::open_at(&at).await.unwrap();

    let sqlite = sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join("clerk.db").display())).await.unwrap();
    let lines = |rows: Vec<sqlx::sqlite::SqliteRow>| -> Vec<String> {
        rows.iter().map(|r| format!("{}|{}", r.get::<String, _>(0), r.get::<String, _>(1))).collect()
    };
    let columns = lines(
        sqlx::query(
            "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name != '_sqlx_migrations' ORDER BY 1, 2",
        )
        .fetch_all(&sqlite)
        .await
        .unwrap(),
    );
    let indexes = lines(
        sqlx::query("SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY 1, 2")
            .fetch_all(&sqlite)
            .await
            .unwrap(),
    );
    let versions = lines(
        sqlx::query("SELECT CAST(version AS TEXT), description FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&sqlite)
            .await
            .unwrap(),
    );
    let pg = |sql: &str| -> Vec<String> { db.query(sql).lines().map(str::to_string).collect() };
    assert_eq!(
        columns,
        pg("SELECT table_name, column_name FROM information_schema.columns
            WHERE table_schema = 'public' AND table_name != '_sqlx_migrations' ORDER BY 1, 2")
    );
    assert_eq!(
        indexes,
        pg("SELECT tablename, indexname FROM pg_indexes WHERE schemaname = 'public'
            AND indexname NOT LIKE '%\\_pkey' AND indexname NOT LIKE '%\\_key' ORDER BY 1, 2")
    );
    assert_eq!(versions, pg("SELECT version, description FROM _sqlx_migrations ORDER BY version"));
    assert!(columns.len() > 80 && versions.len() >= 5, "{columns:?} {versions:?}");
}

/// Originals in PostgreSQL go in 8 MiB chunks (no value near PostgreSQL's 1 GB limit, no whole
/// file in a daemon's memory), and a daemon with an empty cache reads them back byte for byte —
/// also a blob written whole by a version before chunks.
#[tokio::test]
async fn originals_in_postgresql_are_kept_in_chunks_and_read_back_whole() {
    let db = TestDatabase::create();
    let dir = tempfile::tempdir().unwrap();
    let at = |name: &str| Location { url: Some(db.url.clone()), data: dir.path().join(name), blobs: None };
    let taker = Store::open_at(&at("taker")).await.unwrap();
    // 20 MiB + 5 bytes that do not repeat, so a chunk out of order or missing changes the hash.
    let mut bytes = Vec::with_capacity((20 << 20) + 5);
    let mut x = 0x9e3779b97f4a7c15u64;
    while bytes.len() < (20 << 20) + 5 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.push(x as u8);
    }
    let stored = taker.blobs.put(std::io::Cursor::new(bytes.clone())).await.unwrap();
    assert_eq!(stored.size, bytes.len() as u64);
    let chunks = db.query(&format!("SELECT count(*), sum(length(bytes)) FROM blob_chunks WHERE sha256 = '{}'", stored.sha256));
    assert_eq!(chunks.trim(), format!("3|{}", bytes.len()));
    // Storing it again (another daemon took the same file) adds nothing.
    taker.blobs.put(std::io::Cursor::new(bytes.clone())).await.unwrap();
    assert_eq!(db.query("SELECT count(*) FROM blob_chunks").trim(), "3");

    let reader = Store::open_at(&at("reader")).await.unwrap();
    assert_eq!(reader.blobs.read(&stored.sha256).await.unwrap(), bytes);
    let empty = taker.blobs.put_bytes(b"").await.unwrap();
    assert_eq!(reader.blobs.read(&empty.sha256).await.unwrap(), b"");

    // A blob kept whole in `blobs.bytes` by an earlier version.
    let old = b"an original stored before chunks";
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(old))
    };
    db.query(&format!("INSERT INTO blobs (sha256, size, bytes) VALUES ('{sha}', {}, '\\x{}')", old.len(), hex::encode(old)));
    assert_eq!(reader.blobs.read(&sha).await.unwrap(), old);
    let missing = reader.blobs.read(&"0".repeat(64)).await.unwrap_err();
    assert_eq!(missing.kind(), std::io::ErrorKind::NotFound, "{missing}");
}

/// A fresh store on each backend: SQLite in `dir`, then PostgreSQL in `db`.
async fn both_backends(dir: &std::path::Path, db: &TestDatabase) -> Vec<Store> {
    let mut stores = vec![];
    for (url, folder) in [(None, "sqlite"), (Some(db.url.clone()), "pg")] {
        stores.push(Store::open_at(&Location { url, data: dir.join(folder), blobs: None }).await.unwrap());
    }
    stores
}

/// The `i`th small text file taken from a source.
fn text_file(i: usize) -> clerk::store::NewDocument {
    clerk::store::NewDocument {
        source: "test".into(),
        original_name: format!("{i}.txt"),
        original_path: format!("/in/{i}.txt"),
        intake_key: format!("test|{i}"),
        sha256: format!("{i:064x}"),
        size: 1,
        media_type: Some("text/plain".into()),
    }
}

/// Taking a file writes the document, its audit line and its first job (on PostgreSQL in one
/// statement, on SQLite one by one). On both backends alike: a new file is received and queued
/// once, the same bytes again are a duplicate that queues nothing, the same file again is
/// recognised as taken, and something refused opens its exception with the audit line naming it.
#[tokio::test]
async fn intake_writes_the_same_rows_on_both_backends() {
    use clerk::store::{AuditFilter, ExceptionFilter, IntakeResult};
    let (dir, db) = (tempfile::tempdir().unwrap(), TestDatabase::create());
    for store in both_backends(dir.path(), &db).await {
        let IntakeResult::Received(first) = store.record_intake(&text_file(0)).await.unwrap() else { panic!("a new file is received") };
        let copy = clerk::store::NewDocument { sha256: text_file(0).sha256, ..text_file(1) };
        let IntakeResult::Duplicate { id: twin, of } = store.record_intake(&copy).await.unwrap() else { panic!("the same bytes are a duplicate") };
        assert_eq!(of, first);
        assert!(matches!(store.record_intake(&text_file(0)).await.unwrap(), IntakeResult::AlreadyTaken(id) if id == first));
        let reason = "a folder was dropped into the inbox";
        let IntakeResult::Received(refused) = store.record_refused(&text_file(2), reason).await.unwrap() else { panic!("refused is recorded") };
        let lines = |id: i64| {
            let store = store.clone();
            async move {
                let doc = store.document(id).await.unwrap().unwrap();
                (doc.status.as_str().to_string(), doc.audit.iter().map(|a| (a.actor.clone(), a.action.clone(), a.detail.clone())).collect::<Vec<_>>())
            }
        };
        let line = |action: &str, detail: &str| ("clerk".to_string(), action.to_string(), detail.to_string());
        assert_eq!(lines(first).await, ("received".into(), vec![line("received", "from test")]));
        assert_eq!(lines(twin).await, ("duplicate".into(), vec![line("duplicate", &format!("same content as document {first}"))]));
        assert_eq!(
            lines(refused).await,
            ("exception".into(), vec![line("received", "from test"), line("exception:unreadable", reason)])
        );
        let items = store.exceptions(&ExceptionFilter::default()).await.unwrap();
        assert_eq!(items.iter().map(|e| (e.document_id, e.kind.as_str(), e.reason.as_str())).collect::<Vec<_>>(), [(Some(refused), "unreadable", reason)]);
        let trail = store.audit_trail(&AuditFilter { action: Some("exception:unreadable".into()), limit: 10, ..Default::default() }).await.unwrap();
        assert_eq!(trail.iter().map(|a| (a.document_id, a.exception_id)).collect::<Vec<_>>(), [(Some(refused), Some(items[0].id))]);
        // One job: the new file's reading.
        let job = store.claim("w", 60_000).await.unwrap().expect("the new file is queued");
        assert_eq!((job.document_id, job.stage, job.name.as_str()), (first, clerk::store::Stage::Extract, "0.txt"));
        assert!(store.claim("w", 60_000).await.unwrap().is_none(), "nothing else is queued");
    }
}

/// The pipeline's stage results ride in group commits. On both backends: a stage whose lease
/// ran out and was claimed again by another worker writes nothing (the other worker's result
/// stands), and results committed together are each what they would be alone.
#[tokio::test]
async fn a_stage_whose_lease_was_lost_writes_nothing_beside_others_committed_together() {
    use clerk::classify::Outcome;
    use clerk::read::Page;
    use clerk::store::{Extracted, Extraction, Stage};
    let (dir, db) = (tempfile::tempdir().unwrap(), TestDatabase::create());
    for store in both_backends(dir.path(), &db).await {
        let mut ids = vec![];
        for i in 0..6 {
            match store.record_intake(&text_file(i)).await.unwrap() {
                clerk::store::IntakeResult::Received(id) => ids.push(id),
                other => panic!("{other:?}"),
            }
        }
        // The first job's lease runs out at once; a second worker claims it again.
        let late = store.claim("late", -1).await.unwrap().unwrap();
        let again = store.claim("again", 60_000).await.unwrap().unwrap();
        assert_eq!((late.id, late.stage), (again.id, Stage::Extract), "the expired job is claimed again");
        let mut others = vec![];
        for k in 0..5 {
            others.push(store.claim(&format!("w{k}"), 60_000).await.unwrap().unwrap());
        }
        fn read(pages: &[Page]) -> Extraction<'_> {
            Extraction::Read { media_type: "text/plain", pages, einvoice: None, tables: &[] }
        }
        let page = |text: &str| [Page { number: 1, text: text.into(), ..Default::default() }];
        let (late_pages, again_pages, other_pages) = (page("late"), page("again"), page("other"));
        // All at once, so they share commits.
        let (lost, won, rest) = tokio::join!(
            store.finish_extraction(&late, read(&late_pages), 60_000),
            store.finish_extraction(&again, read(&again_pages), 60_000),
            futures_util::future::join_all(others.iter().map(|j| store.finish_extraction(j, read(&other_pages), 60_000))),
        );
        assert!(matches!(lost.unwrap(), Extracted::Lost), "the late worker is told its lease was lost");
        // Each worker that recorded a reading holds its document's classify stage, with the text
        // it wrote: nobody else can claim it.
        let mut classify = vec![];
        for (result, want) in std::iter::once((won.unwrap(), "again")).chain(rest.into_iter().map(|r| (r.unwrap(), "other"))) {
            let Extracted::Classify(job, input) = result else { panic!("a recorded reading leases the classify stage") };
            assert_eq!((job.stage, job.attempts, input.text.as_str()), (Stage::Classify, 1, want));
            classify.push(job);
        }
        assert!(store.claim("c", 60_000).await.unwrap().is_none(), "no job is left for another worker");
        for (k, id) in ids.iter().enumerate() {
            let doc = store.document(*id).await.unwrap().unwrap();
            assert_eq!(doc.status.as_str(), "extracted", "document {k}");
            let want = if *id == late.document_id { "again" } else { "other" };
            assert_eq!(doc.text.as_deref(), Some(want), "document {k}: only the worker holding the lease wrote");
        }
        assert_eq!(classify.len(), ids.len(), "one classify job per document, none for the lost result");
        // Classification the same way.
        let outcome = Outcome {
            doctype: Some("note".into()),
            fields: Default::default(),
            problems: Default::default(),
            exception: None,
            learned: None,
            reading: None,
            notes: Default::default(),
        };
        let classified = clerk::store::Classification { outcome, version: Some("1"), runs: vec![] };
        let done = futures_util::future::join_all(classify.iter().map(|j| store.finish_classification(j, &classified))).await;
        assert!(done.into_iter().all(|r| r.unwrap() == Some(0)));
        for id in &ids {
            let doc = store.document(*id).await.unwrap().unwrap();
            assert_eq!((doc.status.as_str(), doc.doctype.as_deref()), ("recognised", Some("note")));
            let last = doc.audit.last().unwrap();
            assert_eq!((last.actor.as_str(), last.action.as_str(), last.detail.as_str()), ("clerk", "recognised", "as note"));
        }
    }
}

/// The worker that read a document classifies it from its reading in memory; when it cannot, it
/// records the reading and goes on to classify under a lease it took with it. On both backends:
/// if that worker dies, the lease runs out and another worker claims the classify stage, and
/// classifies from the rows exactly what the first one had in memory (text, the mail rule's
/// type, word boxes, barcodes, what decides a split).
#[tokio::test]
async fn a_classify_stage_whose_worker_died_is_claimed_again_with_its_reading() {
    use clerk::read::{Barcode, Page, TextBox};
    use clerk::store::{ClassifyInput, Extracted, Extraction, Stage};
    let (dir, db) = (tempfile::tempdir().unwrap(), TestDatabase::create());
    for store in both_backends(dir.path(), &db).await {
        let doc = text_file(7);
        store.record_intake(&doc).await.unwrap();
        let read = store.claim("reader", 60_000).await.unwrap().unwrap();
        assert_eq!((read.stage, read.sha256.as_str(), read.name.as_str()), (Stage::Extract, doc.sha256.as_str(), "7.txt"));
        let word = |x: f64, text: &str| TextBox { x0: x, y0: 10.0, x1: x + 30.0, y1: 20.0, text: text.into() };
        let pages = [
            Page { number: 1, text: "Delivery note 7".into(), boxes: vec![word(10.0, "Delivery"), word(45.0, "note")], ..Default::default() },
            Page {
                number: 2,
                text: "Page two".into(),
                boxes: vec![word(10.0, "Page")],
                barcodes: vec![Barcode { format: "Code 128".into(), value: "DN-7".into() }],
                ..Default::default()
            },
        ];
        let in_memory = ClassifyInput::of_reading(&read, "application/pdf", &pages, None);
        assert_eq!(in_memory.text, "Delivery note 7\u{c}Page two");
        // The classify lease it takes runs out at once: the worker died before classifying.
        let read_pages = Extraction::Read { media_type: "application/pdf", pages: &pages, einvoice: None, tables: &[] };
        let Extracted::Classify(first, input) = store.finish_extraction(&read, read_pages, -1).await.unwrap() else {
            panic!("a recorded reading leases the classify stage")
        };
        assert_eq!(input, in_memory);
        let again = store.claim("other", 60_000).await.unwrap().expect("the dead worker's classify stage is claimed again");
        assert_eq!((again.id, again.stage, again.attempts), (first.id, Stage::Classify, 2));
        let from_rows = store.classify_input(again.document_id).await.unwrap().unwrap();
        assert_eq!(from_rows, in_memory, "{:?}", store.backend());
        assert!(store.claim("third", 60_000).await.unwrap().is_none(), "claimed once");
    }
}

/// The worker that read a document records its reading and classification in one write (on
/// PostgreSQL the job, the row and a recognised document's audit line in one statement). On both
/// backends the same rows: the row's reading and outcome, its pages with their word boxes, the
/// audit line or the exception item, the job done; and a worker whose lease was lost writes
/// nothing of either.
#[tokio::test]
async fn reading_and_classification_in_one_write_are_the_same_rows_on_both_backends() {
    use clerk::classify::Outcome;
    use clerk::read::{Page, TextBox};
    use clerk::states::ExceptionKind;
    use clerk::store::{Classification, ExceptionFilter};
    let (dir, db) = (tempfile::tempdir().unwrap(), TestDatabase::create());
    for store in both_backends(dir.path(), &db).await {
        let mut jobs = vec![];
        for i in 30..33 {
            store.record_intake(&text_file(i)).await.unwrap();
            jobs.push(store.claim("reader", if i == 32 { -1 } else { 60_000 }).await.unwrap().unwrap());
        }
        let word = |text: &str| TextBox { x0: 10.0, y0: 10.0, x1: 40.0, y1: 20.0, text: text.into() };
        let pages = [
            Page { number: 1, text: "Delivery note 30".into(), boxes: vec![word("Delivery")], ocr: true, ..Default::default() },
            Page { number: 2, text: "signed".into(), boxes: vec![word("signed")], ..Default::default() },
        ];
        let mut fields = clerk::classify::Fields::new();
        fields.insert("number".into(), serde_json::json!("30"));
        let recognised = Outcome { doctype: Some("note".into()), fields, ..Outcome::exception(ExceptionKind::Unrecognised, "") };
        let recognised = Outcome { exception: None, ..recognised };
        let unknown = Outcome::exception(ExceptionKind::Unrecognised, "no document type matches it");
        let write = |job: usize, outcome: &Outcome| {
            let (store, job, outcome) = (store.clone(), jobs[job].clone(), outcome.clone());
            let pages = pages.clone();
            async move {
                let classified = Classification { outcome, version: Some("3"), runs: vec![] };
                store.finish_reading(&job, "application/pdf", &pages, None, &[], &classified).await.unwrap()
            }
        };
        // The third job's lease ran out and another worker holds it now.
        let taken = store.claim("other", 60_000).await.unwrap().expect("the expired job is claimed again");
        assert_eq!(taken.id, jobs[2].id);
        let (a, b, lost) = tokio::join!(write(0, &recognised), write(1, &unknown), write(2, &recognised));
        assert_eq!((a, b, lost), (Some(0), Some(0), None));

        let doc = store.document(jobs[0].document_id).await.unwrap().unwrap();
        assert_eq!(
            (doc.status.as_str(), doc.doctype.as_deref(), doc.doctype_version.as_deref(), doc.fields.get("number")),
            ("recognised", Some("note"), Some("3"), Some(&serde_json::json!("30")))
        );
        assert_eq!(
            (doc.text.as_deref(), doc.pages, doc.ocr, doc.media_type.as_deref()),
            (Some("Delivery note 30\u{c}signed"), Some(2), true, Some("application/pdf"))
        );
        let trail: Vec<_> = doc.audit.iter().map(|l| (l.actor.as_str(), l.action.as_str(), l.detail.as_str())).collect();
        assert_eq!(trail, [("clerk", "received", "from test"), ("clerk", "recognised", "as note")]);
        let boxes = store.document_boxes(doc.id).await.unwrap().expect("a PDF's pages keep their word boxes");
        assert_eq!(boxes, vec![(1, vec![word("Delivery")]), (2, vec![word("signed")])]);

        let other = store.document(jobs[1].document_id).await.unwrap().unwrap();
        assert_eq!((other.status.as_str(), other.pages, other.doctype.as_deref()), ("exception", Some(2), None));
        let items = store.exceptions(&ExceptionFilter { document_id: Some(other.id), ..Default::default() }).await.unwrap();
        assert_eq!(items.iter().map(|e| (e.kind.as_str(), e.reason.as_str())).collect::<Vec<_>>(), [("unrecognised", "no document type matches it")]);
        let trail: Vec<_> = other.audit.iter().map(|l| l.action.as_str()).collect();
        assert_eq!(trail, ["received", "exception:unrecognised"]);

        let untouched = store.document(jobs[2].document_id).await.unwrap().unwrap();
        assert_eq!((untouched.status.as_str(), untouched.pages, untouched.text), ("received", None, None), "{:?}", store.backend());
        assert!(store.document_boxes(untouched.id).await.unwrap().is_none(), "no pages of a lost lease");
        assert_eq!(store.pending_jobs().await.unwrap(), 1, "the two written are done; the other worker's is running");
    }
}
