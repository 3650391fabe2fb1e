//! UpdateImageGroup: `PUT /v1/{project_id}/images/group/{id}` with `{read_me?, tags?: [{key, value}]}`.

use axum::extract::State;
use axum::response::Response;
use imagehub_catalog::{GroupUpdate, KvTag, Listing};
use serde::Deserialize;

use crate::AppState;
use crate::face::InScope;
use crate::face::{self, PathParams};
use crate::modelarts::render;
use crate::modelarts::{self, ModelArts, Result, Scoped};

#[derive(Deserialize)]
pub struct Body {
    read_me: Option<String>,
    tags: Option<Vec<KvTag>>,
}

/// Answers the group as it is after the update.
pub async fn handle(
    State(state): State<AppState>,
    InScope(scope, _): Scoped,
    PathParams((_, id), _): PathParams<(String, String), ModelArts>,
    face::Json(body, _): face::Json<Body, ModelArts>,
) -> Result<Response> {
    let id = super::parse_id(&id)?;
    let update = GroupUpdate { read_me: body.read_me, kv_tags: body.tags };
    let group = state.catalog.update_group(&scope.writer()?, Listing::Containers, id, update).await?;
    Ok(modelarts::ok(&render::group(&group)))
}
