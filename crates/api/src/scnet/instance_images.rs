//! `GET /ai/openapi/v2/instance-service/images` (seed 004): the container images the
//! caller can use. `acceleratorType` and `imageType` come from the query or from a JSON
//! body on the GET (as SCNet's own curl/Java/Python samples send them); the query wins.

use axum::extract::State;
use axum::response::Response;
use imagehub_catalog::{
    Accelerator, AppType, Filter, ImageQuery, Listing, MAX_PAGE, PageRequest, SortDir, SortKey, View,
};
use serde::Deserialize;

use super::render::images_vo;
use super::{Result, Scnet, Scoped, success};
use crate::AppState;
use crate::face::InScope;
use crate::face::{OptionalJson, QueryPairs};

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Body {
    accelerator_type: Option<String>,
    image_type: Option<String>,
}

/// A filter value; an empty one means "no filter".
pub fn given(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|v| !v.is_empty())
}

pub async fn handle(
    State(state): State<AppState>,
    InScope(scope, _): Scoped,
    q: QueryPairs<Scnet>,
    OptionalJson(body, _): OptionalJson<Body, Scnet>,
) -> Result<Response> {
    let body = body.unwrap_or_default();
    let accelerator = given(q.get("acceleratorType")?.or(body.accelerator_type.as_deref()));
    let app_type = given(q.get("imageType")?.or(body.image_type.as_deref()));
    let mut filters = Vec::new();
    filters.extend(accelerator.map(Accelerator::parse).transpose()?.map(Filter::Accelerator));
    filters.extend(app_type.map(AppType::parse).transpose()?.map(Filter::AppType));
    let query = ImageQuery {
        filters,
        sort: vec![(SortKey::CreatedAt, SortDir::Desc)],
        page: PageRequest::Offset { offset: 0, limit: MAX_PAGE },
        with_total: false,
    };
    let page = state.catalog.list_images(&scope, Listing::Containers, View::DEFAULT, query).await?;
    let offset = state.settings.scnet_utc_offset_secs;
    Ok(success(page.items.iter().map(|i| images_vo(i, offset)).collect::<Vec<_>>()))
}
