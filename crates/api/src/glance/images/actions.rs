//! `POST /v2/images/{id}/actions/{deactivate,reactivate}`: 204; a wrong state is a 403.

use axum::extract::State;
use axum::response::Response;

use super::delete::no_content;
use crate::AppState;
use crate::face::PathParams;
use crate::glance::{Auth, Glance, Result};

pub async fn deactivate(
    State(state): State<AppState>,
    crate::face::Auth(caller, _): Auth,
    PathParams(id, _): PathParams<String, Glance>,
) -> Result<Response> {
    let scope = state.catalog.own_project(&caller);
    state.catalog.deactivate(&scope.writer()?, super::parse_id(&id)?).await?;
    Ok(no_content())
}

pub async fn reactivate(
    State(state): State<AppState>,
    crate::face::Auth(caller, _): Auth,
    PathParams(id, _): PathParams<String, Glance>,
) -> Result<Response> {
    let scope = state.catalog.own_project(&caller);
    state.catalog.reactivate(&scope.writer()?, super::parse_id(&id)?).await?;
    Ok(no_content())
}
