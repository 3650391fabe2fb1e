//! ListImageGroup: `GET /v1/{project_id}/images/group`.

use axum::extract::State;
use axum::response::Response;
use imagehub_catalog::{GroupQuery, Listing};

use crate::AppState;
use crate::face::InScope;
use crate::modelarts::params::{self, Query};
use crate::modelarts::render;
use crate::modelarts::{self, Result, Scoped};

pub async fn handle(State(state): State<AppState>, InScope(scope, _): Scoped, q: Query) -> Result<Response> {
    let p = params::parse(&q, None)?;
    let query = GroupQuery { sort: params::group_sort(&p)?, filters: p.filters, offset: p.offset, limit: p.limit };
    let page = state.catalog.list_groups(&scope, Listing::Containers, query).await?;
    Ok(modelarts::ok(&render::group_page(&page, p.offset, p.limit)))
}
