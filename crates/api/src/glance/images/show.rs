//! `GET /v2/images/{id}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::AppState;
use crate::face::InScope;
use crate::face::PathParams;
use crate::glance::{Glance, Result, Scoped, render};

pub async fn handle(
    State(state): State<AppState>,
    InScope(scope, _): Scoped,
    PathParams(id, _): PathParams<String, Glance>,
) -> Result<Response> {
    let image = state.catalog.get_image(&scope, super::parse_id(&id)?).await?;
    Ok(super::answer_written(StatusCode::OK, &render::image(&image)))
}
