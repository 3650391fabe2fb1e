//! `PUT /v2/images/{id}/file` (upload: 204), `PUT /v2/images/{id}/stage` (staging for
//! an import: 204), `POST /v2/images/{id}/import` (202) and `GET /v2/images/{id}/file`
//! (download: 200, 206 for one range, 204 without data), as spec/glance.md §6 describes
//! them; `GET /v2/info/import` and `/v2/info/stores`.
//!
//! Python clients send the whole body before they read the answer: an upload refused
//! before or while its bytes are read (a wrong state, a wrong media type, over the cap)
//! still reads the rest of them, up to [`DRAIN_LIMIT`], or the client would see the
//! connection reset instead of the answer.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use imagehub_catalog::{ByteStream, Error, Target};
use serde_json::{Value, json};

use super::delete::no_content;
use crate::AppState;
use crate::face::{InScope, PathParams};
use crate::glance::errors::GlanceResponse;
use crate::glance::{Glance, Result, Scoped};

const OCTET_STREAM: &str = "application/octet-stream";

/// How much of a refused upload's body is read (and dropped) so that the client hears
/// the refusal; past it the connection is closed.
const DRAIN_LIMIT: u64 = 64 * 1024 * 1024;

/// A request body that the catalog reads and the face may drain after it.
type SharedBody = std::sync::Arc<tokio::sync::Mutex<axum::body::BodyDataStream>>;

pub async fn upload(
    State(state): State<AppState>,
    InScope(scope, _): Scoped,
    PathParams(id, _): PathParams<String, Glance>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    receive(&state, &scope, &id, &headers, body, Target::Data).await
}

pub async fn stage(
    State(state): State<AppState>,
    InScope(scope, _): Scoped,
    PathParams(id, _): PathParams<String, Glance>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    receive(&state, &scope, &id, &headers, body, Target::Stage).await
}

/// `POST …/import` `{"method": {"name": "glance-direct"}}`: 202, the import runs on.
pub async fn import(
    State(state): State<AppState>,
    InScope(scope, _): Scoped,
    PathParams(id, _): PathParams<String, Glance>,
    crate::face::Json(body, _): crate::face::Json<Value, Glance>,
) -> Result<Response> {
    let method = body.get("method");
    let name = method
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .ok_or_else(|| Error::invalid("Provided object does not match schema: the import needs method.name"))?;
    let uri = method.and_then(|m| m.get("uri")).and_then(Value::as_str);
    state.catalog.import(&scope.writer()?, super::parse_id(&id)?, name, uri).await?;
    let mut resp = StatusCode::ACCEPTED.into_response();
    resp.extensions_mut().insert(GlanceResponse);
    Ok(resp)
}

/// `GET /v2/info/import`: the import methods offered.
pub async fn info_import(State(state): State<AppState>, InScope(_scope, _): Scoped) -> Result<Response> {
    Ok(super::answer(
        StatusCode::OK,
        json!({"import-methods": {
            "description": "Import methods available.",
            "type": "array",
            "value": state.catalog.import_methods(),
        }}),
    ))
}

/// `GET /v2/info/stores`: the one store (Glance writes `default` as the string "true").
pub async fn info_stores(InScope(_scope, _): Scoped) -> Result<Response> {
    Ok(super::answer(
        StatusCode::OK,
        json!({"stores": [{"id": "default", "description": "this server's image data", "default": "true"}]}),
    ))
}

async fn receive(
    state: &AppState,
    scope: &imagehub_catalog::Scope,
    id: &str,
    headers: &HeaderMap,
    body: Body,
    target: Target,
) -> Result<Response> {
    let body: SharedBody = std::sync::Arc::new(tokio::sync::Mutex::new(body.into_data_stream()));
    let admitted = declared_upload(headers).and_then(|declared| Ok((scope.writer()?, super::parse_id(id)?, declared)));
    let (writer, id, declared) = match admitted {
        Ok(a) => a,
        Err(e) => return Err(drained(&body, e).await.into()),
    };
    let upload = match state.catalog.begin_upload(&writer, id, declared, target).await {
        Ok(u) => u,
        Err(e) => return Err(drained(&body, e).await.into()),
    };
    match upload.write(bytes_of(body.clone())).await {
        Ok(_) => Ok(no_content()),
        Err(e) => Err(drained(&body, e).await.into()),
    }
}

pub async fn download(
    State(state): State<AppState>,
    InScope(scope, _): Scoped,
    PathParams(id, _): PathParams<String, Glance>,
    headers: HeaderMap,
) -> Result<Response> {
    let id = super::parse_id(&id)?;
    let Some(data) = state.catalog.download(&scope, id).await? else {
        return Ok(no_content());
    };
    let range = match requested_range(&headers)?.map(|spec| spec.within(data.size)).transpose() {
        Ok(range) => range,
        Err(e) => {
            // The size, so that the client can ask again (RFC 9110 §14.4).
            let mut resp = crate::face::FaceError::<Glance>::from(e).into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{}", data.size)) {
                resp.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(resp);
        }
    };
    let bytes = data.open(range).await?;
    let (status, length) = match range {
        Some((first, last)) => (StatusCode::PARTIAL_CONTENT, last - first + 1),
        None => (StatusCode::OK, data.size),
    };
    let mut resp = (status, Body::from_stream(bytes)).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(OCTET_STREAM));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    match range {
        Some((first, last)) => {
            if let Ok(v) = HeaderValue::from_str(&format!("bytes {first}-{last}/{}", data.size)) {
                h.insert(header::CONTENT_RANGE, v);
            }
        }
        // The checksum is the whole image's: clients compare it with what they received.
        None => {
            if let Some(v) = data.image.checksum.as_deref().and_then(|c| HeaderValue::from_str(c).ok()) {
                h.insert("content-md5", v);
            }
        }
    }
    resp.extensions_mut().insert(GlanceResponse);
    Ok(resp)
}

/// What an upload's headers say: its media type must be `application/octet-stream`;
/// the size it declares (`x-openstack-image-size`), if it does.
fn declared_upload(headers: &HeaderMap) -> std::result::Result<Option<u64>, Error> {
    if crate::face::essence(headers).as_deref() != Some(OCTET_STREAM) {
        let media = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).filter(|m| !m.is_empty());
        return Err(Error::UnsupportedMediaType(format!(
            "The request media type {} is not supported by this server.",
            media.unwrap_or("None")
        )));
    }
    headers
        .get("x-openstack-image-size")
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or_else(|| Error::invalid(format!("x-openstack-image-size must be a number of bytes, not {v:?}")))
        })
        .transpose()
}

/// The request body as the catalog reads it.
fn bytes_of(body: SharedBody) -> ByteStream {
    Box::pin(futures_util::stream::unfold(body, |body| async move {
        let next = body.lock().await.next().await?;
        Some((next.map_err(std::io::Error::other), body))
    }))
}

/// Reads and drops the rest of `body` (up to [`DRAIN_LIMIT`]), then hands back `e` to answer with.
async fn drained(body: &SharedBody, e: Error) -> Error {
    let mut body = body.lock().await;
    let mut read = 0u64;
    while read < DRAIN_LIMIT {
        match body.next().await {
            Some(Ok(chunk)) => read += chunk.len() as u64,
            _ => break,
        }
    }
    e
}

/// One range of bytes as a request asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeSpec {
    /// `first-` or `first-last`.
    From(u64, Option<u64>),
    /// `-n`: the last n bytes.
    Suffix(u64),
}

impl RangeSpec {
    /// The first and last byte this range names in data of `size` bytes.
    fn within(self, size: u64) -> std::result::Result<(u64, u64), Error> {
        let unsatisfiable =
            || Error::RangeNotSatisfiable(format!("Requested range not satisfiable: image size {size}"));
        match self {
            RangeSpec::From(first, _) if first >= size => Err(unsatisfiable()),
            RangeSpec::From(first, last) => Ok((first, last.unwrap_or(u64::MAX).min(size - 1))),
            RangeSpec::Suffix(0) => Err(unsatisfiable()),
            RangeSpec::Suffix(_) if size == 0 => Err(unsatisfiable()),
            RangeSpec::Suffix(n) => Ok((size.saturating_sub(n), size - 1)),
        }
    }
}

/// The range a download asks for: `Range: bytes=…` or, as older clients send it, the
/// request header `Content-Range: bytes first-last/*`. Several ranges are refused (400);
/// one that does not parse is unsatisfiable (416).
fn requested_range(headers: &HeaderMap) -> std::result::Result<Option<RangeSpec>, Error> {
    let malformed = |v: &str| Error::RangeNotSatisfiable(format!("Invalid range {v:?}"));
    if let Some(v) = headers.get(header::RANGE) {
        let v = v.to_str().map_err(|_| malformed("(not text)"))?.trim();
        let spec = v.strip_prefix("bytes=").ok_or_else(|| malformed(v))?;
        if spec.contains(',') {
            return Err(Error::invalid("Multiple ranges are not supported: ask for one range of bytes"));
        }
        let (first, last) = spec.trim().split_once('-').ok_or_else(|| malformed(v))?;
        let number = |s: &str| s.trim().parse::<u64>().map_err(|_| malformed(v));
        let range = match (first.trim(), last.trim()) {
            ("", "") => return Err(malformed(v)),
            ("", n) => RangeSpec::Suffix(number(n)?),
            (a, "") => RangeSpec::From(number(a)?, None),
            (a, b) => {
                let (a, b) = (number(a)?, number(b)?);
                if b < a {
                    return Err(malformed(v));
                }
                RangeSpec::From(a, Some(b))
            }
        };
        return Ok(Some(range));
    }
    if let Some(v) = headers.get(header::CONTENT_RANGE) {
        let v = v.to_str().map_err(|_| malformed("(not text)"))?.trim();
        let spec = v.strip_prefix("bytes").map(str::trim).ok_or_else(|| malformed(v))?;
        let (range, _total) = spec.split_once('/').unwrap_or((spec, "*"));
        let (a, b) = range.split_once('-').ok_or_else(|| malformed(v))?;
        let (a, b) =
            (a.trim().parse::<u64>().map_err(|_| malformed(v))?, b.trim().parse::<u64>().map_err(|_| malformed(v))?);
        if b < a {
            return Err(malformed(v));
        }
        return Ok(Some(RangeSpec::From(a, Some(b))));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(v: &str) -> std::result::Result<Option<RangeSpec>, Error> {
        let mut h = HeaderMap::new();
        h.insert(header::RANGE, HeaderValue::from_str(v).unwrap());
        requested_range(&h)
    }

    #[test]
    fn ranges_parse_as_http_says() {
        assert_eq!(range("bytes=0-9").unwrap(), Some(RangeSpec::From(0, Some(9))));
        assert_eq!(range("bytes=5-").unwrap(), Some(RangeSpec::From(5, None)));
        assert_eq!(range("bytes=-3").unwrap(), Some(RangeSpec::Suffix(3)));
        assert!(matches!(range("bytes=0-1,4-5"), Err(Error::InvalidArgument(_))));
        for bad in ["bytes=", "bytes=a-b", "items=0-1", "bytes=5-2", "bytes=-"] {
            assert!(matches!(range(bad), Err(Error::RangeNotSatisfiable(_))), "{bad}");
        }
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_RANGE, HeaderValue::from_static("bytes 2-4/*"));
        assert_eq!(requested_range(&h).unwrap(), Some(RangeSpec::From(2, Some(4))));
    }

    #[test]
    fn ranges_resolve_within_the_size() {
        assert_eq!(RangeSpec::From(0, Some(99)).within(10).unwrap(), (0, 9));
        assert_eq!(RangeSpec::From(3, None).within(10).unwrap(), (3, 9));
        assert_eq!(RangeSpec::Suffix(4).within(10).unwrap(), (6, 9));
        assert_eq!(RangeSpec::Suffix(40).within(10).unwrap(), (0, 9));
        assert!(RangeSpec::From(10, None).within(10).is_err());
        assert!(RangeSpec::Suffix(0).within(10).is_err());
    }
}
