//! `GET /ai/openapi/v2/instance-service/images` (seed 004): the container images the
//! caller can use. `acceleratorType` and `imageType` come from the query or from a JSON
//! body on the GET (as SCNet's own curl/Java/Python samples send them); the query wins.

use axum::extract::State;
use axum::response::Response;
use imagehub_catalog::{ContainerFormat, Error, Filter, ImageQuery, MAX_PAGE, PageRequest, SortDir, SortKey};
use serde::Deserialize;

use super::render::images_vo;
use super::{Auth, Result, Scnet, success};
use crate::AppState;
use crate::face::{OptionalJson, QueryPairs};

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Body {
    accelerator_type: Option<String>,
    image_type: Option<String>,
}

/// A filter word: letters, digits, `_`, `-`, `.`; an empty one means "no filter".
pub fn word(name: &str, v: Option<&str>) -> std::result::Result<Option<String>, Error> {
    let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    let ok = v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok { Ok(Some(v.to_owned())) } else { Err(Error::invalid(format!("invalid {name} {v:?}"))) }
}

pub async fn handle(
    State(state): State<AppState>,
    crate::face::Auth(caller, _): Auth,
    q: QueryPairs<Scnet>,
    OptionalJson(body, _): OptionalJson<Body, Scnet>,
) -> Result<Response> {
    let scope = state.catalog.own_project(&caller);
    let body = body.unwrap_or_default();
    let accelerator = word("acceleratorType", q.get("acceleratorType")?.or(body.accelerator_type.as_deref()))?;
    let app_type = word("imageType", q.get("imageType")?.or(body.image_type.as_deref()))?;
    let mut filters = vec![Filter::ContainerFormat(ContainerFormat::Docker)];
    filters.extend(accelerator.map(Filter::Accelerator));
    filters.extend(app_type.map(Filter::AppType));
    let query = ImageQuery {
        filters,
        sort: vec![(SortKey::CreatedAt, SortDir::Desc)],
        page: PageRequest::Offset { offset: 0, limit: MAX_PAGE },
        with_total: false,
    };
    let page = state.catalog.list_images(&scope, &query).await?;
    let offset = state.settings.scnet_utc_offset_secs;
    Ok(success(page.items.iter().map(|i| images_vo(i, offset)).collect::<Vec<_>>()))
}
