//! DeleteImageGroup: `DELETE /v1/{project_id}/images/group/{id}`, optional `{"is_force": bool}`.

use axum::extract::State;
use axum::response::Response;

use crate::AppState;
use crate::face::{OptionalJson, PathParams};
use crate::modelarts::images::delete::Body;
use crate::modelarts::render;
use crate::modelarts::{self, Auth, ModelArts, Result};

/// Deletes every image of the group; answers the group as it was.
pub async fn handle(
    State(state): State<AppState>,
    crate::face::Auth(caller, _): Auth,
    PathParams((project, id), _): PathParams<(String, String), ModelArts>,
    OptionalJson(_body, _): OptionalJson<Body, ModelArts>,
) -> Result<Response> {
    let scope = state.catalog.in_project(&caller, &project)?;
    let id = super::parse_id(&id)?;
    let group = state.catalog.delete_group(&scope.writer()?, id).await?;
    Ok(modelarts::ok(&render::group(&group)))
}
