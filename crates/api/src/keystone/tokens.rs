//! `/v3/auth/tokens`: password and token (rescoping) logins, validation and revocation.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use imagehub_catalog::Error;
use imagehub_catalog::identity::{DomainRef, Named, PasswordLogin, TokenDetails};
use serde::Deserialize;
use serde_json::Value;

use super::{Keystone, Result, caller, render};
use crate::AppState;
use crate::face::{Json, QueryPairs};

#[derive(Deserialize)]
pub struct AuthRequest {
    auth: Auth,
}

#[derive(Deserialize)]
struct Auth {
    identity: Identity,
    #[serde(default)]
    scope: Option<Value>,
}

#[derive(Deserialize)]
struct Identity {
    methods: Vec<String>,
    password: Option<PasswordMethod>,
    token: Option<TokenMethod>,
}

#[derive(Deserialize)]
struct PasswordMethod {
    user: Ref,
}

#[derive(Deserialize)]
struct TokenMethod {
    id: Option<String>,
}

/// A user, project or domain as the body names it: by id, or by name (with a domain).
#[derive(Deserialize)]
struct Ref {
    id: Option<String>,
    name: Option<String>,
    domain: Option<Box<Ref>>,
    password: Option<String>,
}

impl Ref {
    fn domain(&self) -> Option<DomainRef> {
        match (&self.id, &self.name) {
            (Some(id), _) => Some(DomainRef::Id(id.clone())),
            (None, Some(name)) => Some(DomainRef::Name(name.clone())),
            (None, None) => None,
        }
    }

    /// The user or project this names; `what` names it in the message of a refusal. A
    /// name needs a domain, unless `name_alone` (a project in a scope: Huawei IAM's
    /// logins name it alone, and the catalog looks it up in the user's domain).
    fn named(&self, what: &str, name_alone: bool) -> std::result::Result<Named, Error> {
        if let Some(id) = &self.id {
            return Ok(Named::Id(id.clone()));
        }
        let Some(name) = &self.name else {
            return Err(Error::invalid(format!("Expecting to find id or name in {what}.")));
        };
        match self.domain.as_deref().and_then(Ref::domain) {
            Some(domain) => Ok(Named::Name { name: name.clone(), domain }),
            None if name_alone => Ok(Named::NameInUserDomain(name.clone())),
            None => Err(Error::invalid(format!("Expecting to find domain in {what}."))),
        }
    }
}

/// The project a login asks for; `None`: the user's default project.
fn scope_of(scope: Option<&Value>) -> std::result::Result<Option<Named>, Error> {
    let Some(scope) = scope else { return Ok(None) };
    if scope.as_str() == Some("unscoped") || scope.is_null() {
        return Ok(None);
    }
    let Some(obj) = scope.as_object() else { return Err(Error::invalid("scope must be an object")) };
    if let Some(project) = obj.get("project") {
        let project: Ref = serde_json::from_value(project.clone())
            .map_err(|_| Error::invalid("Expecting scope.project to be an object with an id or a name."))?;
        return project.named("project", true).map(Some);
    }
    if obj.contains_key("domain") || obj.contains_key("system") || obj.contains_key("OS-TRUST:trust") {
        return Err(Error::invalid("this server issues project-scoped tokens only: scope to a project"));
    }
    Ok(None)
}

/// A token answered to a login or a validation: its value in `X-Subject-Token`, its
/// audit id and shape, and the service catalog unless the query says `nocatalog`.
fn answer(
    state: &AppState,
    headers: &HeaderMap,
    query: &[(String, String)],
    (status, value): (StatusCode, &str),
    details: &TokenDetails,
    methods: &[&str],
) -> Response {
    let hash = imagehub_catalog::token::hash(value);
    let base = state.settings.base_url(headers);
    let catalog =
        (!query.iter().any(|(k, _)| k == "nocatalog")).then_some((base.as_str(), state.settings.region.as_str()));
    let body = render::token(details, methods, imagehub_catalog::token::id_of(&hash), catalog);
    let mut resp = crate::face::json(status, &body);
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert("x-subject-token", v);
    }
    resp
}

/// `POST /v3/auth/tokens`.
pub async fn issue(
    State(state): State<AppState>,
    headers: HeaderMap,
    QueryPairs(query, _): QueryPairs<Keystone>,
    Json(body, _): Json<Value, Keystone>,
) -> Result<Response> {
    // Parsed from a JSON value, with words of its own: serde's message would quote the
    // value it could not take, and that may be a password (the reason is logged).
    let req: AuthRequest = serde_json::from_value(body).map_err(|_| {
        Error::invalid(
            "Expecting {\"auth\": {\"identity\": {\"methods\": [...], \"password\": {\"user\": {...}} or \
             \"token\": {\"id\": ...}}, \"scope\": {...}}}, with strings where Keystone has them.",
        )
    })?;
    let identity = &req.auth.identity;
    let user = identity.password.as_ref().map(|p| &p.user);
    let scope = scope_of(req.auth.scope.as_ref())?;
    let ttl_ms = state.settings.identity_token_ttl_secs.saturating_mul(1000);
    let method = identity.methods.iter().find(|m| *m == "password" || *m == "token");
    let (value, details, method) = match method.map(String::as_str) {
        Some("password") => {
            let user = user.ok_or_else(|| Error::invalid("Expecting to find password in identity."))?;
            let password =
                user.password.clone().ok_or_else(|| Error::invalid("Expecting to find password in user."))?;
            let login = PasswordLogin { user: user.named("user", false)?, password, scope };
            let (value, details) = state.catalog.password_login(&login, ttl_ms).await?;
            (value, details, "password")
        }
        Some(_) => {
            let value = identity
                .token
                .as_ref()
                .and_then(|t| t.id.clone())
                .or_else(|| crate::face::token_of(&headers).map(str::to_owned))
                .ok_or_else(|| Error::invalid("Expecting to find id in token."))?;
            let (value, details) = state.catalog.rescope(&value, scope.as_ref(), ttl_ms).await?;
            (value, details, "token")
        }
        None => return Err(Error::InvalidCredential("no supported authentication method".into()).into()),
    };
    Ok(answer(&state, &headers, &query, (StatusCode::CREATED, &value), &details, &[method]))
}

fn subject(headers: &HeaderMap) -> std::result::Result<&str, Error> {
    headers
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::missing("the X-Subject-Token header"))
}

/// `GET /v3/auth/tokens`: what the `X-Subject-Token` stands for.
pub async fn validate(
    State(state): State<AppState>,
    headers: HeaderMap,
    QueryPairs(query, _): QueryPairs<Keystone>,
) -> Result<Response> {
    let who = caller(&state, &headers).await?;
    let value = subject(&headers)?;
    let details = state.catalog.subject_token_for(&who, value).await?;
    Ok(answer(&state, &headers, &query, (StatusCode::OK, value), &details, &["password"]))
}

/// `HEAD /v3/auth/tokens`: 200 while the `X-Subject-Token` is valid.
pub async fn check(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    let who = caller(&state, &headers).await?;
    state.catalog.subject_token_for(&who, subject(&headers)?).await?;
    Ok(StatusCode::OK.into_response())
}

/// `DELETE /v3/auth/tokens`: revokes the `X-Subject-Token`, on every node once answered.
pub async fn revoke(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    let who = caller(&state, &headers).await?;
    let value = subject(&headers)?;
    state.catalog.subject_token_for(&who, value).await?;
    state.catalog.revoke_token_value(value).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
