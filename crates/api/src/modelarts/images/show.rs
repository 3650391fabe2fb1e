//! ShowImage: `GET /v1/{project_id}/images/{id}`.

use axum::extract::State;
use axum::response::Response;

use crate::AppState;
use crate::face::PathParams;
use crate::modelarts::render::{self, Shape};
use crate::modelarts::{self, Auth, ModelArts, Result};

pub async fn handle(
    State(state): State<AppState>,
    crate::face::Auth(caller, _): Auth,
    PathParams((project, id), _): PathParams<(String, String), ModelArts>,
) -> Result<Response> {
    let scope = state.catalog.in_project(&caller, &project)?;
    let image = state.catalog.get_image(&scope, super::parse_id(&id)?).await?;
    Ok(modelarts::ok_written(&render::image(&image, Shape::Detail)))
}
