//! DeleteImageGroup: `DELETE /v1/{project_id}/images/group/{id}`, optional `{"is_force": bool}`.

use axum::extract::State;
use axum::response::Response;
use imagehub_catalog::Listing;

use crate::AppState;
use crate::face::InScope;
use crate::face::{OptionalJson, PathParams};
use crate::modelarts::images::delete::Body;
use crate::modelarts::render;
use crate::modelarts::{self, ModelArts, Result, Scoped};

/// Deletes every image of the group (its container images: a ModelArts group holds no
/// other); refused while one is protected. Answers the group as it was.
pub async fn handle(
    State(state): State<AppState>,
    InScope(scope, _): Scoped,
    PathParams((_, id), _): PathParams<(String, String), ModelArts>,
    OptionalJson(_body, _): OptionalJson<Body, ModelArts>,
) -> Result<Response> {
    let id = super::parse_id(&id)?;
    let group = state.catalog.delete_group(&scope.writer()?, Listing::Containers, id).await?;
    Ok(modelarts::ok(&render::group(&group)))
}
