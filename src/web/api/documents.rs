//! Documents: ops read any; an agent reads those that have an item in the queue (the page and
//! text they must see to resolve it).

use super::Page;
use crate::store::{Document, DocumentFilter, DocumentSummary, ExceptionFilter};
use crate::users::Role;
use crate::web::auth::Caller;
use crate::web::problem::{ApiResult, Problem, ProblemBody};
use crate::web::Service;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

#[derive(Deserialize, utoipa::IntoParams, Debug)]
#[into_params(parameter_in = Query)]
pub struct DocumentQuery {
    pub status: Option<crate::states::DocumentStatus>,
    /// Documents of this type.
    pub doctype: Option<String>,
    /// Received at or after this time (RFC 3339).
    pub since: Option<String>,
}

/// Documents, oldest first. Needs the ops role.
#[utoipa::path(get, path = "/documents", tag = "documents", params(DocumentQuery, Page),
    responses((status = 200, body = [DocumentSummary]), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody)))]
pub async fn list(
    caller: Caller,
    State(s): State<Service>,
    Query(q): Query<DocumentQuery>,
    Query(page): Query<Page>,
) -> ApiResult<Json<Vec<DocumentSummary>>> {
    caller.require(Role::Ops)?;
    let filter = DocumentFilter {
        status: q.status,
        doctype: q.doctype,
        since: q.since,
        limit: Some(page.limit()),
        offset: Some(page.offset()),
    };
    Ok(Json(s.store.list_documents(&filter).await?))
}

/// The document, if the caller may read it (404 either way otherwise: an agent does not learn
/// which documents exist outside the queue). An agent reads a document while it waits in the
/// queue (an open or claimed item), and those whose items they closed themselves; not the rest
/// of what passed through clerk, nor the server's folders it came from.
async fn readable(s: &Service, caller: &Caller, id: i64) -> ApiResult<Document> {
    caller.require(Role::Agent)?;
    let missing = || Problem::not_found(format!("document {id} does not exist"));
    let mut doc = s.store.document(id).await?.ok_or_else(missing)?;
    if caller.0.role < Role::Ops {
        let items = s.store.exceptions(&ExceptionFilter { document_id: Some(id), ..Default::default() }).await?;
        if !items.iter().any(|i| crate::exceptions::open_to_agent(i, &caller.0.name)) {
            return Err(missing());
        }
        doc.original_path.clear();
    }
    Ok(doc)
}

/// The document: status, type, fields and their problems, pages with OCR word boxes, its items
/// and its audit trail. Needs the agent role (a document with an item; ops: any).
#[utoipa::path(get, path = "/documents/{id}", tag = "documents", params(("id" = i64, Path)),
    responses((status = 200, body = Document), (status = 401, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub async fn show(caller: Caller, State(s): State<Service>, Path(id): Path<i64>) -> ApiResult<Json<Document>> {
    Ok(Json(readable(&s, &caller, id).await?))
}

/// The original bytes as received. Needs the agent role (a document with an item; ops: any).
#[utoipa::path(get, path = "/documents/{id}/original", tag = "documents", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 401, body = ProblemBody), (status = 404, body = ProblemBody), (status = 410, body = ProblemBody)))]
pub async fn original(caller: Caller, State(s): State<Service>, Path(id): Path<i64>) -> ApiResult<Response> {
    let doc = readable(&s, &caller, id).await?;
    if let Some(why) = doc.original_gone() {
        return Err(Problem::gone(why));
    }
    let bytes = s.store.blobs.read(&doc.sha256).await.map_err(Problem::internal)?;
    let media = doc.media_type.unwrap_or_else(|| "application/octet-stream".into());
    // Shown as a download, never rendered by the browser as a page of clerk's origin.
    let name: String = doc.original_name.chars().filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\').collect();
    Ok((
        [
            (header::CONTENT_TYPE, media),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        bytes,
    )
        .into_response())
}

/// Page `n` (from 1) drawn as a PNG, as an agent sees it beside the form; word boxes are in
/// points of a page `X-Page-Width-Pt` × `X-Page-Height-Pt` (see /documents/{id}). Needs the agent
/// role (a document with an item; ops: any).
#[utoipa::path(get, path = "/documents/{id}/pages/{n}/image", tag = "documents", params(("id" = i64, Path), ("n" = u32, Path)),
    responses((status = 200, content_type = "image/png", body = Vec<u8>), (status = 401, body = ProblemBody), (status = 404, body = ProblemBody), (status = 410, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn page_image(caller: Caller, State(s): State<Service>, Path((id, n)): Path<(i64, u32)>) -> ApiResult<Response> {
    let doc = readable(&s, &caller, id).await?;
    let image = crate::web::preview::page_image(&s, &doc, n).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png".to_string()),
            (header::CACHE_CONTROL, "private, max-age=3600".to_string()),
            (header::HeaderName::from_static("x-page-width-pt"), format!("{:.2}", image.width_pt)),
            (header::HeaderName::from_static("x-page-height-pt"), format!("{:.2}", image.height_pt)),
        ],
        image.png.clone(),
    )
        .into_response())
}

/// The document's text as read (text layer or OCR). Needs the agent role (a document with an
/// item; ops: any).
#[utoipa::path(get, path = "/documents/{id}/text", tag = "documents", params(("id" = i64, Path)),
    responses((status = 200, content_type = "text/plain", body = String), (status = 401, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub async fn text(caller: Caller, State(s): State<Service>, Path(id): Path<i64>) -> ApiResult<Response> {
    let doc = readable(&s, &caller, id).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], doc.text.unwrap_or_default()).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SplitAt {
    /// The document ends after this page of it (from 1); the rest becomes a document of its own.
    pub after_page: u32,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Recut {
    /// The documents cut anew from the batch, in page order; each is classified again.
    pub documents: Vec<i64>,
}

impl From<crate::batches::MoveError> for Problem {
    fn from(e: crate::batches::MoveError) -> Problem {
        use crate::batches::MoveError;
        match e {
            MoveError::NotFound(_) => Problem::not_found(e.to_string()),
            MoveError::Refused(_) => Problem::conflict(e.to_string()),
            MoveError::Other(e) => Problem::from(e),
        }
    }
}

/// Splits a document cut from a batch after one of its pages: both halves are cut anew from the
/// batch's original and classified again; the document and its open items close as `replaced`.
/// A PDF or TIFF of several pages that arrived whole is split the same way and becomes the batch
/// (`split`) of the two.
/// Needs the agent role (a document with an item; ops: any).
#[utoipa::path(post, path = "/documents/{id}/split", tag = "documents", params(("id" = i64, Path)), request_body = SplitAt,
    responses((status = 200, body = Recut), (status = 401, body = ProblemBody), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody)))]
pub async fn split(caller: Caller, State(s): State<Service>, Path(id): Path<i64>, Json(body): Json<SplitAt>) -> ApiResult<Json<Recut>> {
    readable(&s, &caller, id).await?;
    let documents = crate::batches::move_boundary(&s.store, &s.readers, id, crate::batches::Move::SplitAfter(body.after_page), &caller.0.name).await?;
    Ok(Json(Recut { documents }))
}

/// Joins a document cut from a batch with the next document cut from it: one document, cut
/// anew and classified again; both close as `replaced`. Needs the agent role (a document with
/// an item; ops: any).
#[utoipa::path(post, path = "/documents/{id}/join", tag = "documents", params(("id" = i64, Path)),
    responses((status = 200, body = Recut), (status = 401, body = ProblemBody), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody)))]
pub async fn join(caller: Caller, State(s): State<Service>, Path(id): Path<i64>) -> ApiResult<Json<Recut>> {
    readable(&s, &caller, id).await?;
    let documents = crate::batches::move_boundary(&s.store, &s.readers, id, crate::batches::Move::JoinNext, &caller.0.name).await?;
    Ok(Json(Recut { documents }))
}
