//! `clerk vendors …`: what agents taught clerk of each vendor's invoices, and forgetting it.

use clap::Subcommand;
use clerk::config::Settings;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum VendorsCmd {
    /// Vendors whose invoices agents corrected, with the keys they are known by.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Per field, where the vendor's value stands, from which document and who showed it.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Forget all that was learned of a vendor: its invoices are read by the generic reader alone.
    Forget {
        id: i64,
        /// Who forgets it, for the audit trail.
        #[arg(long, default_value = "clerk")]
        by: String,
    },
}

pub async fn run(s: &Settings, cmd: VendorsCmd) -> anyhow::Result<ExitCode> {
    let store = super::open_store(s).await?;
    match cmd {
        VendorsCmd::List { json } => {
            let vendors = store.vendors().await?;
            if json {
                out!("{}", serde_json::to_string_pretty(&vendors)?);
            } else {
                for v in &vendors {
                    out!("#{}  {}  [{}]  {}", v.id, v.name, v.keys.join(", "), v.fields.join(", "));
                }
                if vendors.is_empty() {
                    eprintln!("nothing learned yet: agents teach clerk a vendor by resolving its invoices");
                }
            }
        }
        VendorsCmd::Show { id, json } => {
            let Some(v) = store.vendor(id).await? else {
                eprintln!("error: there is no vendor {id} (see `clerk vendors list`)");
                return Ok(ExitCode::from(2));
            };
            if json {
                out!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                out!("#{} {}  (known by {})", v.id, v.name, v.keys.join(", "));
                for (field, l) in &v.fields {
                    out!(
                        "  {field}: {}  — e.g. {} on document #{}, shown by {}",
                        l.describe(),
                        l.example,
                        l.document_id,
                        l.by
                    );
                }
            }
        }
        VendorsCmd::Forget { id, by } => {
            if !store.forget_vendor(id, &by).await? {
                eprintln!("error: there is no vendor {id} (see `clerk vendors list`)");
                return Ok(ExitCode::from(2));
            }
            out!("forgot vendor {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
