//! Request ids and the one log line per request (errors are logged here, once).

use std::time::Instant;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::face::LoggedError;

/// Adds `X-Request-Id` (32 hex digits) to every response and logs the request.
///
/// The rest of the request runs in its own task, to completion even if the client goes
/// away: a cancelled handler could leave a pooled database connection in the middle of
/// a transaction, or a committed write not yet applied to the read index.
pub async fn observe(req: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let started = Instant::now();
    let mut resp = match tokio::spawn(next.run(req)).await {
        Ok(resp) => resp,
        Err(e) => {
            tracing::error!(request_id = %id, %method, %path, error = %e, "request handler panicked");
            axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    };
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    let status = resp.status().as_u16();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    match resp.extensions().get::<LoggedError>() {
        Some(LoggedError(e)) if e.is_server_error() => {
            tracing::error!(request_id = %id, %method, %path, status, ms, error = %e.log_detail(), "request failed")
        }
        Some(LoggedError(e)) => {
            tracing::info!(request_id = %id, %method, %path, status, ms, error = %e.log_detail(), "request refused")
        }
        None => tracing::debug!(request_id = %id, %method, %path, status, ms, "request"),
    }
    resp
}
