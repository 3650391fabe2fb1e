//! SCNet's access-key login: `POST /api/user/v3/tokens` (headers `user`, `accessKey`,
//! `timestamp`, `signature` = hex HMAC-SHA256 keyed by the secret key over the compact JSON
//! `{"accessKey":…,"timestamp":…,"user":…}`) issues an expiring token;
//! `GET /ac/openapi/v2/tokens/state` tells whether a token is still valid.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use imagehub_catalog::secrets::{hmac_sha256_verify, unhex};
use imagehub_catalog::{Error, Millis};
use serde_json::json;

use super::{Result, Scoped, success};
use crate::AppState;
use crate::face::InScope;

/// A login header: missing (or blank) and present but not visible ASCII are told apart.
fn header<'a>(h: &'a HeaderMap, name: &str) -> std::result::Result<&'a str, Error> {
    let Some(value) = h.get(name) else { return Err(Error::missing(name)) };
    let value = value.to_str().map_err(|_| Error::invalid(format!("{name} must be printable ASCII")))?.trim();
    if value.is_empty() {
        return Err(Error::missing(name));
    }
    Ok(value)
}

pub async fn create(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    let user = header(&headers, "user")?;
    let ak = header(&headers, "accessKey")?;
    let ts = header(&headers, "timestamp")?;
    let signature = header(&headers, "signature")?;
    if user.chars().count() > 255 {
        return Err(Error::invalid("user is longer than 255 characters").into());
    }
    let seconds: i64 = ts.parse().map_err(|_| Error::invalid("timestamp must be unix seconds"))?;
    // Exactly the compact JSON the clients sign, keys in this order.
    let signed = format!("{{\"accessKey\":{},\"timestamp\":{},\"user\":{}}}", json!(ak), json!(ts), json!(user));
    let signature = unhex(signature);
    let verify =
        async |secret: &[u8]| Ok(signature.is_some_and(|sig| hmac_sha256_verify(secret, signed.as_bytes(), &sig)));
    let at = Millis(seconds.saturating_mul(1000));
    let caller = state.catalog.authenticate_signed(ak, at, verify).await?;
    let ttl = state.settings.scnet_token_ttl_secs.saturating_mul(1000);
    let (token, _) = state.catalog.issue_token(&caller, ttl, Some(format!("scnet login of {user}")), ak).await?;
    Ok(success(json!([{ "clusterId": "imagehub", "clusterName": "imagehub", "token": token }])))
}

pub async fn state(InScope(_scope, _): Scoped) -> Result<Response> {
    Ok(success("token is valid"))
}
