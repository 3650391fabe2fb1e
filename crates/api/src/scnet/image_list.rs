//! `POST /ai/openapi/v2/image/images` (the current documented variant): a page of the
//! caller's private images or of the public ones, with `total`.

use axum::extract::State;
use axum::response::Response;
use imagehub_catalog::{Accelerator, AppType, Error, Filter, ImageQuery, Needle, PageRequest, SortDir, SortKey, View};
use serde::Deserialize;
use serde_json::Value;

use super::instance_images::given;
use super::render::{ImageList, image_item};
use super::{Result, Scnet, Scoped, success, words};
use crate::AppState;
use crate::face;
use crate::face::InScope;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Body {
    name: Option<String>,
    access: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    order_by: Option<String>,
    sort: Option<String>,
    start: Option<Value>,
    limit: Option<Value>,
    accelerator_type: Option<String>,
}

fn required<'a, T>(name: &str, v: &'a Option<T>) -> std::result::Result<&'a T, Error> {
    v.as_ref().ok_or_else(|| Error::missing(name))
}

/// A non-negative integer given as a JSON number or a numeric string.
fn integer(name: &str, v: &Value) -> std::result::Result<u64, Error> {
    let n = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    n.ok_or_else(|| Error::invalid(format!("{name} must be a non-negative integer, got {v}")))
}

pub async fn handle(
    State(state): State<AppState>,
    InScope(scope, _): Scoped,
    face::Json(body, _): face::Json<Body, Scnet>,
) -> Result<Response> {
    let access = words::parse_access(required("access", &body.access)?)?;
    let key = match required("orderBy", &body.order_by)?.as_str() {
        "create_time" => SortKey::CreatedAt,
        // imagehub keeps no share or clone history: sharing updates an image, and clone
        // counts are all 0, so these order by update and creation time.
        "share_time" => SortKey::UpdatedAt,
        "clone_times" => SortKey::CreatedAt,
        other => {
            return Err(Error::invalid(format!(
                "orderBy must be create_time, share_time or clone_times, got {other:?}"
            ))
            .into());
        }
    };
    let dir = match required("sort", &body.sort)?.to_ascii_uppercase().as_str() {
        "ASC" => SortDir::Asc,
        "DESC" => SortDir::Desc,
        other => return Err(Error::invalid(format!("sort must be ASC or DESC, got {other:?}")).into()),
    };
    let start = integer("start", required("start", &body.start)?)?;
    let limit = integer("limit", required("limit", &body.limit)?)?;
    let mut filters = Vec::new();
    if let Some(name) = given(body.name.as_deref()) {
        if name.len() > 512 {
            return Err(Error::invalid("name is longer than 512 characters").into());
        }
        filters.push(Filter::Version(Needle::new(name)));
    }
    filters.extend(given(body.kind.as_deref()).map(AppType::parse).transpose()?.map(Filter::AppType));
    filters
        .extend(given(body.accelerator_type.as_deref()).map(Accelerator::parse).transpose()?.map(Filter::Accelerator));
    let query = ImageQuery {
        filters,
        sort: vec![(key, dir)],
        page: PageRequest::Offset { offset: start, limit },
        with_total: true,
    };
    let page = state.catalog.list_images(&scope, access, View::DEFAULT, query).await?;
    let offset = state.settings.scnet_utc_offset_secs;
    let data = page.items.iter().map(|i| image_item(i, offset)).collect();
    Ok(success(ImageList { total: page.total.unwrap_or(0), data }))
}
