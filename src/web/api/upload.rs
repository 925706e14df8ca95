//! A file uploaded as a request body (`application/octet-stream`), spooled to a temporary file
//! as it arrives: several uploads at once hold a few kilobytes of the daemon's memory each, not
//! the whole file, and the reader streams it from disk like a document from an inbox. A body
//! larger than a document may be (`limits.max_file_size`) is refused with 413 from its declared
//! length, or as soon as it passes that size, not after it is all received.

use crate::web::problem::Problem;
use crate::web::Service;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

pub struct Upload {
    /// Deleted when the upload is dropped.
    pub path: tempfile::TempPath,
    pub size: u64,
}

impl FromRequest<Service> for Upload {
    type Rejection = Problem;

    async fn from_request(req: Request, s: &Service) -> Result<Upload, Problem> {
        let limit = s.readers.limits().max_file_size;
        let too_large =
            || Problem::new(StatusCode::PAYLOAD_TOO_LARGE, format!("the file is over the limit of {limit} bytes (limits.max_file_size)"));
        // A declared length over the limit is refused before a byte of the body is read.
        let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        let failed = |e: std::io::Error| Problem::internal(format!("cannot keep the upload in a temporary file: {e}"));
        let path = tempfile::Builder::new().prefix("clerk-upload-").tempfile().map_err(failed)?.into_temp_path();
        let mut file = tokio::fs::File::create(&path).await.map_err(failed)?;
        let mut body = req.into_body().into_data_stream();
        let mut size = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| Problem::invalid(format!("the upload broke off: {e}")))?;
            size += chunk.len() as u64;
            if size > limit {
                return Err(too_large());
            }
            file.write_all(&chunk).await.map_err(failed)?;
        }
        file.flush().await.map_err(failed)?;
        Ok(Upload { path, size })
    }
}
