//! Version discovery: `GET /` → 300 and `GET /versions` → 200 with the same document;
//! `GET /v2` and `/v2/` answer it too, so clients configured with either endpoint form work.

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::errors::GlanceResponse;

/// The API versions imagehub speaks: 2.7 (members, deactivation, community/shared
/// visibility, os_hidden and multihash) and the earlier ones it contains. Image import
/// (2.6), multistore (2.8+) and the cache API are not offered.
const VERSIONS: &[(&str, &str)] = &[
    ("v2.7", "CURRENT"),
    ("v2.6", "SUPPORTED"),
    ("v2.5", "SUPPORTED"),
    ("v2.4", "SUPPORTED"),
    ("v2.3", "SUPPORTED"),
    ("v2.2", "SUPPORTED"),
    ("v2.1", "SUPPORTED"),
    ("v2.0", "SUPPORTED"),
];

/// The document, with links built from the request's `Host`.
pub fn document(req: &Request) -> Value {
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost:9292");
    let href = format!("http://{host}/v2/");
    let versions: Vec<Value> = VERSIONS
        .iter()
        .map(|(id, status)| json!({ "id": id, "status": status, "links": [{ "rel": "self", "href": href }] }))
        .collect();
    json!({ "versions": versions })
}

fn answer(status: StatusCode, req: &Request) -> Response {
    let mut resp = crate::face::json(status, &document(req));
    resp.extensions_mut().insert(GlanceResponse);
    resp
}

/// `GET /` and unknown version prefixes: 300 Multiple Choices.
pub async fn multiple_choices(req: Request) -> Response {
    answer(StatusCode::MULTIPLE_CHOICES, &req)
}

/// `GET /versions`, `GET /v2`, `GET /v2/`: 200.
pub async fn versions(req: Request) -> Response {
    answer(StatusCode::OK, &req)
}
