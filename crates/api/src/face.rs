//! What every face shares: its error envelope, extractors that reject in that envelope,
//! and authentication ([`InScope`]: the caller's scope, the one prologue of every
//! authenticated handler). A face implements [`Face`]; everything here is generic over it.

use std::marker::PhantomData;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use imagehub_catalog::{Caller, Error, Scope};
use serde::de::DeserializeOwned;

use crate::AppState;

/// What RFC 3986 leaves unencoded (`A-Z a-z 0-9 - _ . ~`): the set a URI component is
/// percent-encoded against.
pub const URI_UNRESERVED: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// An API dialect: how it renders catalog errors, and where its requests name the
/// project they act in.
pub trait Face: Send + Sync + 'static {
    /// The path parameter that names the project a request acts in (ModelArts'
    /// `{project_id}`); `None`: the caller's own project.
    const PROJECT_PARAM: Option<&'static str> = None;

    /// The face's error response for `err` (status, headers, body).
    fn error_response(err: &Error) -> Response;
}

/// A catalog error on its way out through face `F`.
pub struct FaceError<F: Face>(pub Error, pub PhantomData<F>);

impl<F: Face> From<Error> for FaceError<F> {
    fn from(e: Error) -> Self {
        Self(e, PhantomData)
    }
}

/// The error, kept in the response so the logging middleware records it once.
#[derive(Clone)]
pub struct LoggedError(pub Error);

impl<F: Face> IntoResponse for FaceError<F> {
    fn into_response(self) -> Response {
        let mut resp = F::error_response(&self.0);
        resp.extensions_mut().insert(LoggedError(self.0));
        resp
    }
}

/// Handler result for face `F`.
pub type FaceResult<T, F> = Result<T, FaceError<F>>;

/// The credential a request carries: `X-Auth-Token`, `token` (SCNet) or `Authorization: Bearer`.
pub fn token_of(headers: &HeaderMap) -> Option<&str> {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty());
    value("x-auth-token")
        .or_else(|| value("token"))
        .or_else(|| value("authorization").and_then(|a| a.strip_prefix("Bearer ")).map(str::trim))
}

/// The caller a request's credential stands for: the caller of a signed request (verified
/// by the signing middleware, [`crate::signing`]), or the token's.
async fn authenticate(parts: &Parts, state: &AppState) -> Result<Caller, Error> {
    if let Some(crate::signing::SignedCaller(caller)) = parts.extensions.get() {
        return Ok(caller.clone());
    }
    if let Some(crate::signing::SignatureFailure(e)) = parts.extensions.get() {
        return Err(e.clone());
    }
    // A header that is present but not visible ASCII is a bad credential, not a missing one.
    let present = ["x-auth-token", "token", "authorization"].iter().any(|h| parts.headers.contains_key(*h));
    let Some(token) = token_of(&parts.headers) else {
        return Err(if present {
            Error::InvalidCredential("the token is invalid or unknown".into())
        } else {
            Error::Unauthenticated
        });
    };
    state.catalog.authenticate_token(token).await
}

/// The caller's scope in the project the request acts in: the path's project on a face
/// that names one ([`Face::PROJECT_PARAM`]; another project than the caller's is refused
/// unless it is an administrator), else its own. Rejects in `F`'s envelope: 401 without a
/// valid credential, 403 for another project, 400 for a malformed project id.
pub struct InScope<F: Face>(pub Scope, pub PhantomData<F>);

impl<F: Face> FromRequestParts<AppState> for InScope<F> {
    type Rejection = FaceError<F>;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = authenticate(parts, state).await?;
        let scope = match F::PROJECT_PARAM {
            None => state.catalog.own_project(&caller),
            Some(name) => {
                let params = RawPathParams::from_request_parts(parts, state)
                    .await
                    .map_err(|e| Error::invalid(format!("invalid path: {}", e.body_text())))?;
                let project = params.iter().find(|(k, _)| *k == name).map_or("", |(_, v)| v);
                state.catalog.in_project(&caller, project)?
            }
        };
        Ok(Self(scope, PhantomData))
    }
}

/// Query string as ordered (name, value) pairs. Rejects bad percent-encoding or UTF-8.
pub struct QueryPairs<F: Face>(pub Vec<(String, String)>, pub PhantomData<F>);

impl<F: Face, S: Send + Sync> FromRequestParts<S> for QueryPairs<F> {
    type Rejection = FaceError<F>;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        let pairs = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map_err(|_| Error::invalid(format!("the query string {q:?} is not valid percent-encoded UTF-8")))?;
        Ok(Self(pairs.0, PhantomData))
    }
}

impl<F: Face> QueryPairs<F> {
    /// The single value of `name`; a parameter given twice is an error.
    pub fn get(&self, name: &str) -> Result<Option<&str>, Error> {
        let mut it = self.0.iter().filter(|(k, _)| k == name);
        let first = it.next().map(|(_, v)| v.as_str());
        if it.next().is_some() {
            return Err(Error::invalid(format!("query parameter {name} is given more than once")));
        }
        Ok(first)
    }
}

/// Path segments, rejecting bad UTF-8 in `F`'s envelope.
pub struct PathParams<T, F: Face>(pub T, pub PhantomData<F>);

impl<T, F, S> FromRequestParts<S> for PathParams<T, F>
where
    T: DeserializeOwned + Send,
    F: Face,
    S: Send + Sync,
{
    type Rejection = FaceError<F>;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(p) => Ok(Self(p.0, PhantomData)),
            Err(e) => Err(Error::invalid(format!("invalid path: {}", e.body_text())).into()),
        }
    }
}

/// A JSON body. Missing body is an error; see [`OptionalJson`] for routes where it is optional.
pub struct Json<T, F: Face>(pub T, pub PhantomData<F>);

/// A JSON body that may be absent (empty).
pub struct OptionalJson<T, F: Face>(pub Option<T>, pub PhantomData<F>);

/// The media type of a `Content-Type` (lower case, without parameters).
pub(crate) fn essence(headers: &HeaderMap) -> Option<String> {
    let ct = headers.get(header::CONTENT_TYPE)?.to_str().unwrap_or("").to_ascii_lowercase();
    Some(ct.split(';').next().unwrap_or("").trim().to_owned())
}

/// Whether the faces read a body of this media type as JSON: `application/json`,
/// `application/*+json`, or none given.
pub(crate) fn read_as_json(essence: Option<&str>) -> bool {
    essence.is_none_or(|e| e == "application/json" || (e.starts_with("application/") && e.ends_with("+json")))
}

fn is_json(headers: &HeaderMap) -> Result<(), Error> {
    let essence = essence(headers);
    if read_as_json(essence.as_deref()) {
        Ok(())
    } else {
        Err(Error::UnsupportedMediaType(format!(
            "Content-Type must be application/json, not {:?}",
            essence.unwrap_or_default()
        )))
    }
}

/// Reads the body within the body size limit.
async fn read_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, Error> {
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::PayloadTooLarge("the request body is too large".into())
        } else {
            Error::MalformedBody(format!("cannot read the request body: {}", e.body_text()))
        }
    })
}

/// Reads the body (respecting the body size limit) and parses it as JSON.
async fn read_json<T: DeserializeOwned, S: Send + Sync>(req: Request, state: &S) -> Result<Option<T>, Error> {
    let headers = req.headers().clone();
    let bytes = read_bytes(req, state).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    is_json(&headers)?;
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        if e.is_data() {
            Error::invalid(format!("invalid request body: {e}"))
        } else {
            Error::MalformedBody(format!("the request body is not valid JSON: {e}"))
        }
    })
}

impl<T, F, S> FromRequest<S> for Json<T, F>
where
    T: DeserializeOwned,
    F: Face,
    S: Send + Sync,
{
    type Rejection = FaceError<F>;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match read_json(req, state).await? {
            Some(v) => Ok(Self(v, PhantomData)),
            None => Err(Error::MalformedBody("a JSON request body is required".into()).into()),
        }
    }
}

impl<T, F, S> FromRequest<S> for OptionalJson<T, F>
where
    T: DeserializeOwned,
    F: Face,
    S: Send + Sync,
{
    type Rejection = FaceError<F>;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(read_json(req, state).await?, PhantomData))
    }
}

/// The raw request body (within the body limit), for media types other than JSON.
pub struct RawBody<F: Face>(pub Bytes, pub PhantomData<F>);

impl<F: Face, S: Send + Sync> FromRequest<S> for RawBody<F> {
    type Rejection = FaceError<F>;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(read_bytes(req, state).await?, PhantomData))
    }
}

/// A shape written by hand into the response buffer ([`crate::jsonout`]): the list pages
/// and the images in them.
pub trait WriteJson {
    fn write_json(&self, out: &mut Vec<u8>);

    /// About how many bytes it writes: the response buffer starts that large (growing a
    /// Glance page's buffer from 4 KiB moved 28 KB per request).
    fn size_hint(&self) -> usize {
        4096
    }
}

/// A JSON response of a shape written by hand.
pub fn json_written(status: StatusCode, value: &impl WriteJson) -> Response {
    let mut body = Vec::with_capacity(value.size_hint());
    value.write_json(&mut body);
    json_body(status, body)
}

fn json_body(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A JSON response. Serialized into one growing buffer: axum's `Json` writes through a
/// `BytesMut` writer, which was a third of a list request's CPU at 20 records a page.
/// Every face answers through this.
pub fn json<T: serde::Serialize + ?Sized>(status: StatusCode, value: &T) -> Response {
    let mut body = Vec::with_capacity(4096);
    match serde_json::to_writer(&mut body, value) {
        Ok(()) => json_body(status, body),
        Err(e) => {
            // Only a bug gets here (the faces' shapes always serialize).
            let mut resp = StatusCode::INTERNAL_SERVER_ERROR.into_response();
            resp.extensions_mut().insert(LoggedError(Error::Internal(format!("rendering a response: {e}"))));
            resp
        }
    }
}
