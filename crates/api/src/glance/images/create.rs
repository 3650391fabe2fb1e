//! `POST /v2/images`: 201 with the image and an absolute `Location`.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use imagehub_catalog::{Error, ImageId};
use serde_json::{Map, Value};

use crate::AppState;
use crate::face;
use crate::face::InScope;
use crate::glance::{Glance, Result, Scoped, attrs, render};

pub async fn handle(
    State(state): State<AppState>,
    InScope(scope, _): Scoped,
    headers: HeaderMap,
    face::Json(body, _): face::Json<Value, Glance>,
) -> Result<Response> {
    let Value::Object(body) = body else {
        return Err(Error::invalid("Provided object does not match schema 'image': the body is not an object").into());
    };
    let body: Map<String, Value> = body;
    // 403s first (reserved, read-only), as Glance checks them before the schema.
    for key in body.keys() {
        if key != "id" {
            attrs::check_writable(key)?;
        }
    }
    let id = match body.get("id") {
        None => None,
        Some(Value::String(s)) => Some(ImageId::parse(s).ok_or_else(|| {
            Error::invalid(format!(
                "Provided object does not match schema 'image': '{s}' does not match the uuid pattern"
            ))
        })?),
        Some(other) => {
            return Err(Error::invalid(format!(
                "Provided object does not match schema 'image': {other} is not of type 'string' (id)"
            ))
            .into());
        }
    };
    let writer = scope.writer()?;
    let mut image = state.catalog.draft_image(&writer, id);
    for (key, value) in &body {
        if key != "id" {
            attrs::set(&mut image, key, value)?;
        }
    }
    let image = state.catalog.create_image(&writer, image).await?;
    let base = state.settings.base_url(&headers);
    let mut resp = super::answer_written(StatusCode::CREATED, &render::image(&image));
    if let Ok(loc) = HeaderValue::from_str(&format!("{base}/v2/images/{}", image.id)) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    let methods = state.catalog.import_methods();
    if !methods.is_empty()
        && let Ok(v) = HeaderValue::from_str(&methods.join(","))
    {
        resp.headers_mut().insert("openstack-image-import-methods", v);
    }
    Ok(resp)
}
