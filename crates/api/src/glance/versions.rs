//! Version discovery: `GET /` → 300 and `GET /versions` → 200 with the same document;
//! `GET /v2` and `/v2/` answer it too, so clients configured with either endpoint form work.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::errors::GlanceResponse;
use crate::AppState;

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

/// The document, with links under the public base URL (else the request's `Host`).
pub fn document(base: &str) -> Value {
    let href = format!("{base}/v2/");
    let versions: Vec<Value> = VERSIONS
        .iter()
        .map(|(id, status)| json!({ "id": id, "status": status, "links": [{ "rel": "self", "href": href }] }))
        .collect();
    json!({ "versions": versions })
}

fn answer(status: StatusCode, state: &AppState, headers: &HeaderMap) -> Response {
    let mut resp = crate::face::json(status, &document(&state.settings.base_url(headers)));
    resp.extensions_mut().insert(GlanceResponse);
    resp
}

/// `GET /`: 300 Multiple Choices.
pub async fn multiple_choices(State(state): State<AppState>, headers: HeaderMap) -> Response {
    answer(StatusCode::MULTIPLE_CHOICES, &state, &headers)
}

/// `GET /versions`, `GET /v2`, `GET /v2/`: 200.
pub async fn versions(State(state): State<AppState>, headers: HeaderMap) -> Response {
    answer(StatusCode::OK, &state, &headers)
}
