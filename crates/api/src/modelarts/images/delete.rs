//! DeleteImage: `DELETE /v1/{project_id}/images/{id}`, optional body `{"is_force": bool}`.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use crate::AppState;
use crate::face::InScope;
use crate::face::{OptionalJson, PathParams};
use crate::modelarts::render::{self, Shape};
use crate::modelarts::{self, ModelArts, Result, Scoped};

/// The optional body of DeleteImage and DeleteImageGroup. `is_force` asks ModelArts to
/// delete the registry content too; imagehub keeps no registry content, so it is accepted
/// (and type-checked) and has no further effect.
#[derive(Deserialize)]
pub struct Body {
    #[serde(default)]
    #[allow(dead_code)]
    is_force: bool,
}

pub async fn handle(
    State(state): State<AppState>,
    InScope(scope, _): Scoped,
    PathParams((_, id), _): PathParams<(String, String), ModelArts>,
    OptionalJson(_body, _): OptionalJson<Body, ModelArts>,
) -> Result<Response> {
    let id = super::parse_id(&id)?;
    let image = state.catalog.delete_image(&scope.writer()?, id).await?;
    Ok(modelarts::ok_written(&render::image(&image, Shape::Detail)))
}
