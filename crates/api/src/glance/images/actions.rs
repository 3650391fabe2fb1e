//! `POST /v2/images/{id}/actions/{deactivate,reactivate}`: 204; a wrong state is a 403.

use axum::extract::State;
use axum::response::Response;

use super::delete::no_content;
use crate::AppState;
use crate::face::InScope;
use crate::face::PathParams;
use crate::glance::{Glance, Result, Scoped};

pub async fn deactivate(
    State(state): State<AppState>,
    InScope(scope, _): Scoped,
    PathParams(id, _): PathParams<String, Glance>,
) -> Result<Response> {
    state.catalog.deactivate(&scope.writer()?, super::parse_id(&id)?).await?;
    Ok(no_content())
}

pub async fn reactivate(
    State(state): State<AppState>,
    InScope(scope, _): Scoped,
    PathParams(id, _): PathParams<String, Glance>,
) -> Result<Response> {
    state.catalog.reactivate(&scope.writer()?, super::parse_id(&id)?).await?;
    Ok(no_content())
}
