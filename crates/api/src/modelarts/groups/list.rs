//! ListImageGroup: `GET /v1/{project_id}/images/group`.

use axum::extract::State;
use axum::response::Response;
use imagehub_catalog::GroupQuery;

use crate::AppState;
use crate::face::PathParams;
use crate::modelarts::params::{self, Query};
use crate::modelarts::render;
use crate::modelarts::{self, Auth, ModelArts, Result};

pub async fn handle(
    State(state): State<AppState>,
    crate::face::Auth(caller, _): Auth,
    PathParams(project, _): PathParams<String, ModelArts>,
    q: Query,
) -> Result<Response> {
    let scope = state.catalog.in_project(&caller, &project)?;
    let p = params::parse(&q, None)?;
    let query = GroupQuery { sort: params::group_sort(&p)?, filters: p.filters, offset: p.offset, limit: p.limit };
    let page = state.catalog.list_groups(&scope, &query).await?;
    Ok(modelarts::ok(&render::group_page(&page, p.offset, p.limit)))
}
