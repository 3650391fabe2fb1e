//! `GET /v2/images/{id}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::AppState;
use crate::face::PathParams;
use crate::glance::{Auth, Glance, Result, render};

pub async fn handle(
    State(state): State<AppState>,
    crate::face::Auth(caller, _): Auth,
    PathParams(id, _): PathParams<String, Glance>,
) -> Result<Response> {
    let scope = state.catalog.own_project(&caller);
    let image = state.catalog.get_image(&scope, super::parse_id(&id)?).await?;
    Ok(super::answer_written(StatusCode::OK, &render::image(&image)))
}
