//! `DELETE /v2/images/{id}`: 204; a protected image is a 403.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::face::InScope;
use crate::face::PathParams;
use crate::glance::errors::GlanceResponse;
use crate::glance::{Glance, Result, Scoped};

/// An empty Glance answer.
pub fn no_content() -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.extensions_mut().insert(GlanceResponse);
    resp
}

pub async fn handle(
    State(state): State<AppState>,
    InScope(scope, _): Scoped,
    PathParams(id, _): PathParams<String, Glance>,
) -> Result<Response> {
    state.catalog.delete_image(&scope.writer()?, super::parse_id(&id)?).await?;
    Ok(no_content())
}
