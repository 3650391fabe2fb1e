//! ListImage: `GET /v1/{project_id}/images`.

use axum::extract::State;
use axum::response::Response;
use imagehub_catalog::{ImageKind, ImageQuery, PageRequest};

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
    let p = params::parse(&q, Some(ImageKind::BuiltIn))?;
    let query = ImageQuery {
        sort: params::image_sort(&p)?,
        filters: p.filters,
        page: PageRequest::Offset { offset: p.offset, limit: p.limit },
        with_total: true,
    };
    let page = state.catalog.list_images(&scope, &query).await?;
    Ok(modelarts::ok_written(&render::image_page(&page, p.offset, p.limit)))
}
