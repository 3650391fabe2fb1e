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

use super::{Auth, Result, success};
use crate::AppState;

/// How far the login timestamp may be from the server's clock.
const MAX_SKEW_SECS: i64 = 15 * 60;

fn header<'a>(h: &'a HeaderMap, name: &str) -> std::result::Result<&'a str, Error> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::missing(name))
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
    let now = Millis::now();
    if (now.0 / 1000 - seconds).abs() > MAX_SKEW_SECS {
        return Err(Error::SignatureInvalid(format!(
            "timestamp {ts} is more than 15 minutes from the server time {}",
            now.0 / 1000
        ))
        .into());
    }
    let (secret, caller) = state.catalog.signing_key(ak).await?;
    // Exactly the compact JSON the clients sign, keys in this order.
    let signed = format!("{{\"accessKey\":{},\"timestamp\":{},\"user\":{}}}", json!(ak), json!(ts), json!(user));
    let ok = unhex(signature).is_some_and(|sig| hmac_sha256_verify(&secret, signed.as_bytes(), &sig));
    if !ok {
        return Err(Error::SignatureInvalid("the signature does not match".into()).into());
    }
    let ttl = state.settings.scnet_token_ttl_secs.saturating_mul(1000);
    let (token, _) = state.catalog.issue_token(&caller, ttl, Some(format!("scnet login of {user}"))).await?;
    Ok(success(json!([{ "clusterId": "imagehub", "clusterName": "imagehub", "token": token }])))
}

pub async fn state(crate::face::Auth(_caller, _): Auth) -> Result<Response> {
    Ok(success("token is valid"))
}
