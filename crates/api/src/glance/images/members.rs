//! `/v2/images/{id}/members[/{member}]` (spec/glance.md §7). Create answers 200.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use imagehub_catalog::{Error, MemberStatus};
use serde_json::{Value, json};

use super::delete::no_content;
use crate::AppState;
use crate::face::InScope;
use crate::face::{self, PathParams};
use crate::glance::{Glance, Result, Scoped, render};

pub async fn list(
    State(state): State<AppState>,
    InScope(scope, _): Scoped,
    PathParams(id, _): PathParams<String, Glance>,
) -> Result<Response> {
    let members = state.catalog.list_members(&scope, super::parse_id(&id)?).await?;
    let items: Vec<Value> = members.iter().map(render::member).collect();
    Ok(super::answer(StatusCode::OK, json!({ "members": items, "schema": "/v2/schemas/members" })))
}

pub async fn create(
    State(state): State<AppState>,
    InScope(scope, _): Scoped,
    PathParams(id, _): PathParams<String, Glance>,
    face::Json(body, _): face::Json<Value, Glance>,
) -> Result<Response> {
    let member = body.get("member").and_then(Value::as_str).filter(|m| !m.trim().is_empty());
    let Some(member) = member else {
        return Err(Error::invalid("Member to be added not specified").into());
    };
    let m = state.catalog.add_member(&scope.writer()?, super::parse_id(&id)?, member).await?;
    Ok(super::answer(StatusCode::OK, render::member(&m)))
}

pub async fn show(
    State(state): State<AppState>,
    InScope(scope, _): Scoped,
    PathParams((id, member), _): PathParams<(String, String), Glance>,
) -> Result<Response> {
    let m = state.catalog.get_member(&scope, super::parse_id(&id)?, &member).await?;
    Ok(super::answer(StatusCode::OK, render::member(&m)))
}

pub async fn update(
    State(state): State<AppState>,
    InScope(scope, _): Scoped,
    PathParams((id, member), _): PathParams<(String, String), Glance>,
    face::Json(body, _): face::Json<Value, Glance>,
) -> Result<Response> {
    let status = body.get("status").and_then(Value::as_str).unwrap_or("");
    let status = MemberStatus::parse(status)
        .ok_or_else(|| Error::invalid(format!("Invalid status: {status:?}: pending, accepted or rejected")))?;
    let m = state.catalog.set_member_status(&scope.writer()?, super::parse_id(&id)?, &member, status).await?;
    Ok(super::answer(StatusCode::OK, render::member(&m)))
}

pub async fn delete(
    State(state): State<AppState>,
    InScope(scope, _): Scoped,
    PathParams((id, member), _): PathParams<(String, String), Glance>,
) -> Result<Response> {
    state.catalog.remove_member(&scope.writer()?, super::parse_id(&id)?, &member).await?;
    Ok(no_content())
}
