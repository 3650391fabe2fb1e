//! ShowImage: `GET /v1/{project_id}/images/{id}`.

use axum::Json;
use axum::extract::State;

use crate::AppState;
use crate::face::PathParams;
use crate::modelarts::render::{self, ImageJson, Shape};
use crate::modelarts::{Auth, ModelArts, Result};

pub async fn handle(
    State(state): State<AppState>,
    crate::face::Auth(caller, _): Auth,
    PathParams((project, id), _): PathParams<(String, String), ModelArts>,
) -> Result<Json<ImageJson>> {
    let scope = state.catalog.in_project(&caller, &project)?;
    let image = state.catalog.get_image(&scope, super::parse_id(&id)?).await?;
    Ok(Json(render::image(&image, Shape::Detail)))
}
