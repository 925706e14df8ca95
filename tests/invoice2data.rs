//! The invoice2data community templates (vendored under tests/fixtures, MIT) load as document
//! types, or are reported with a precise reason; loaded ones recognise their documents.

#[path = "support/template_texts.rs"]
#[allow(dead_code)]
mod template_texts;

use clerk::definitions;
use std::path::PathBuf;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invoice2data-templates")
}

#[test]
fn every_template_loads_or_is_reported_with_its_place() {
    let loaded = definitions::load_dir(&corpus(), None);
    let mut all = vec![];
    template_texts::files(&corpus(), &mut all);
    assert_eq!(all.len(), 215, "the corpus README says 215 templates");
    for f in &all {
        let active = loaded.definitions.files.contains_key(f);
        let errors: Vec<_> = loaded.problems.iter().filter(|p| &p.file == f && !p.warning).collect();
        assert!(active == errors.is_empty(), "{}: active={active}, errors={errors:?}", f.display());
        for e in errors {
            assert!(e.pos.line >= 1 && e.pos.col >= 1 && !e.message.is_empty());
        }
    }
    // invoice2data refuses these two as well: it crashes on a document they match (a `lines`
    // list where a mapping belongs: AttributeError; an unclosed group: re.error).
    let report: Vec<String> = loaded.problems.iter().filter(|p| !p.warning).map(|p| p.to_string()).collect();
    assert_eq!(report.len(), 2, "{report:#?}");
    let has = |file: &str, place: &str, text: &str| {
        assert!(
            report.iter().any(|r| r.contains(&format!("{file}:{place}: ")) && r.contains(text)),
            "expected {file}:{place} {text:?} in {report:#?}"
        )
    };
    has("nl/nl.blokker.yml", "56:3", "`lines` must be a mapping");
    has("nl/nl.gulf.yml", "63:16", "unclosed group");
    assert_eq!(loaded.definitions.files.len(), 213);
    // The look-around template runs on the backtracking engine; the second com.amazon.aws is
    // named after its folder.
    let types: Vec<String> = loaded.definitions.doctypes().iter().map(|t| t.name.clone()).collect();
    assert!(types.contains(&"nl.anwb".to_string()));
    assert!(types.contains(&"fr.com.amazon.aws".to_string()) && types.contains(&"com.amazon.aws".to_string()));
    assert!(loaded.problems.iter().any(|p| p.warning
        && p.file == corpus().join("fr/com.amazon.aws.yml")
        && p.message.contains("this one is `fr.com.amazon.aws`")));
}

#[test]
fn loaded_templates_recognise_their_documents() {
    let loaded = definitions::load_dir(&corpus(), None);
    let classifier = loaded.definitions.classifier();
    // com.github: remove_whitespace, currency and date format options.
    let text = "GitHub Receipt\n\nDate   2024-05-01\nTransaction ID   ABC123XYZ\n- - -\nAmount   USD $12.00\n\nsupport@github.com\n";
    let o = classifier.classify(text);
    assert_eq!(o.exception, None, "{o:?}");
    assert_eq!(o.doctype.as_deref(), Some("com.github"));
    // Typed as invoice2data types them: a float, a date.
    assert_eq!(o.fields["amount"], 12.0);
    assert_eq!(o.fields["date"], "2024-05-01");
    assert_eq!(o.fields["invoice_number"], "ABC123XYZ");
    assert_eq!(o.fields["currency"], "USD");
    assert_eq!(o.fields["issuer"], "Github, Inc.");
    assert_eq!(o.fields["desc"], "Invoice from Github, Inc.");
    // Keywords are case-sensitive, as in invoice2data.
    let o = classifier.classify(&text.replace("support@github.com", "SUPPORT@GITHUB.COM"));
    assert_ne!(o.doctype.as_deref(), Some("com.github"));
}
