//! `PATCH /v2/images/{id}`: JSON patch in the v2.1 media type (RFC 6902 style) or the
//! deprecated v2.0 one (tempest's). All operations apply, then one save; any error aborts.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use imagehub_catalog::{Error, Image};
use serde_json::Value;

use crate::AppState;
use crate::face::InScope;
use crate::face::{FaceError, PathParams, RawBody};
use crate::glance::{Glance, Result, Scoped, attrs, render};

const V21: &str = "application/openstack-images-v2.1-json-patch";
const V20: &str = "application/openstack-images-v2.0-json-patch";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

struct Operation {
    op: Op,
    key: String,
    value: Option<Value>,
}

fn bad(msg: impl Into<String>) -> Error {
    Error::invalid(msg)
}

/// A JSON pointer naming one attribute (`/name`); `~1` is `/`, `~0` is `~`, and a `~`
/// followed by anything else (or nothing) is not a pointer (RFC 6901, as Glance checks it).
fn attribute(path: &str) -> std::result::Result<String, Error> {
    let invalid = || bad(format!("Invalid JSON pointer for this resource: '{path}'"));
    let rest = path.strip_prefix('/').ok_or_else(invalid)?;
    if rest.is_empty() || rest.contains('/') {
        return Err(invalid());
    }
    let mut out = String::with_capacity(rest.len());
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '~' => match chars.next() {
                Some('0') => out.push('~'),
                Some('1') => out.push('/'),
                _ => return Err(invalid()),
            },
            c => out.push(c),
        }
    }
    Ok(out)
}

fn parse_ops(body: &[u8], v20: bool) -> std::result::Result<Vec<Operation>, Error> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Error::MalformedBody(format!("Malformed JSON in request body. {e}")))?;
    let Value::Array(items) = value else {
        return Err(bad("Request body must be a JSON array of operation objects."));
    };
    items
        .into_iter()
        .map(|item| {
            let Value::Object(obj) = item else {
                return Err(bad("Operations must be JSON objects."));
            };
            let (op, path) = if v20 {
                let found: Vec<(Op, &Value)> = [("add", Op::Add), ("replace", Op::Replace), ("remove", Op::Remove)]
                    .iter()
                    .filter_map(|(k, op)| obj.get(*k).map(|p| (*op, p)))
                    .collect();
                match found.as_slice() {
                    [(op, Value::String(p))] => (*op, p.clone()),
                    _ => return Err(bad("Operation objects must contain exactly one member named \"add\", \"remove\", or \"replace\".")),
                }
            } else {
                let op = match obj.get("op").and_then(Value::as_str) {
                    Some("add") => Op::Add,
                    Some("replace") => Op::Replace,
                    Some("remove") => Op::Remove,
                    Some(other) => return Err(bad(format!("Invalid operation: `{other}`"))),
                    None => return Err(bad("Unable to find `op` in JSON Schema change. It must be one of the following: add, remove, replace.")),
                };
                let path = obj.get("path").and_then(Value::as_str).ok_or_else(|| bad("Unable to find 'path' in JSON Schema change"))?;
                (op, path.to_owned())
            };
            let value = obj.get("value").cloned();
            if op != Op::Remove && value.is_none() {
                return Err(bad("Unable to find 'value' in JSON Schema change"));
            }
            Ok(Operation { op, key: attribute(&path)?, value })
        })
        .collect()
}

fn apply(image: &mut Image, ops: &[Operation], v20: bool) -> std::result::Result<(), Error> {
    for o in ops {
        attrs::check_writable(&o.key)?;
        let base = attrs::BASE.contains(&o.key.as_str());
        match o.op {
            Op::Remove => attrs::remove(image, &o.key)?,
            Op::Replace | Op::Add => {
                let exists = base || attrs::has_property(image, &o.key);
                if o.op == Op::Replace && !exists {
                    return Err(Error::Conflict(format!("Property {} does not exist.", o.key)));
                }
                if o.op == Op::Add && v20 && exists && !base {
                    return Err(Error::Conflict(format!("Property {} already present.", o.key)));
                }
                attrs::set(image, &o.key, o.value.as_ref().unwrap_or(&Value::Null))?;
            }
        }
    }
    Ok(())
}

pub async fn handle(
    State(state): State<AppState>,
    InScope(scope, _): Scoped,
    PathParams(id, _): PathParams<String, Glance>,
    headers: HeaderMap,
    RawBody(body, _): RawBody<Glance>,
) -> Result<Response> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let v20 = match essence.as_str() {
        V21 => false,
        V20 => true,
        _ => {
            let mut resp = FaceError::<Glance>::from(Error::UnsupportedMediaType(format!(
                "The request media type {essence} is not supported by this server. Image PATCH expects Content-Type one of: {V20}, {V21}"
            )))
            .into_response();
            resp.headers_mut().insert(
                "accept-patch",
                HeaderValue::from_static(
                    "application/openstack-images-v2.0-json-patch, application/openstack-images-v2.1-json-patch",
                ),
            );
            return Ok(resp);
        }
    };
    let id = super::parse_id(&id)?;
    let ops = parse_ops(&body, v20)?;
    let image = state.catalog.update_image(&scope.writer()?, id, |image| apply(image, &ops, v20)).await?;
    Ok(super::answer_written(StatusCode::OK, &render::image(&image)))
}
