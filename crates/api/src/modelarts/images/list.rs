//! ListImage: `GET /v1/{project_id}/images`.

use axum::extract::State;
use axum::response::Response;
use imagehub_catalog::{ImageKind, ImageQuery, Listing, PageRequest, View};

use crate::AppState;
use crate::face::InScope;
use crate::modelarts::params::{self, Query};
use crate::modelarts::render;
use crate::modelarts::{self, Result, Scoped};

pub async fn handle(State(state): State<AppState>, InScope(scope, _): Scoped, q: Query) -> Result<Response> {
    let p = params::parse(&q, Some(ImageKind::BuiltIn))?;
    let query = ImageQuery {
        sort: params::image_sort(&p)?,
        filters: p.filters,
        page: PageRequest::Offset { offset: p.offset, limit: p.limit },
        with_total: true,
    };
    let page = state.catalog.list_images(&scope, Listing::Containers, View::DEFAULT, query).await?;
    Ok(modelarts::ok_written(&render::image_page(&page, p.offset, p.limit)))
}
