//! ShowImage: `GET /v1/{project_id}/images/{id}`.

use axum::extract::State;
use axum::response::Response;

use crate::AppState;
use crate::face::InScope;
use crate::face::PathParams;
use crate::modelarts::render::{self, Shape};
use crate::modelarts::{self, ModelArts, Result, Scoped};

pub async fn handle(
    State(state): State<AppState>,
    InScope(scope, _): Scoped,
    PathParams((_, id), _): PathParams<(String, String), ModelArts>,
) -> Result<Response> {
    let image = state.catalog.get_image(&scope, super::parse_id(&id)?).await?;
    Ok(modelarts::ok_written(&render::image(&image, Shape::Detail)))
}
