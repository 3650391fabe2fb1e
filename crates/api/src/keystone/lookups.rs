//! The read-only lookups clients make of projects, users and domains (the openstack CLI
//! resolves a project given by name or id this way), each answering only what the caller
//! may read (the catalog's rule: see `Catalog::show_project_for` and the like).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use imagehub_catalog::Error;
use imagehub_catalog::identity::DomainRef;
use serde_json::{Value, json};

use super::{Keystone, Result, caller, render};
use crate::AppState;
use crate::face::{self, PathParams, QueryPairs};

/// A list in Keystone's shape: the records under `key`, and links without further pages.
fn listed(key: &str, items: Vec<Value>, headers: &HeaderMap, state: &AppState, path: &str) -> Response {
    let base = state.settings.base_url(headers);
    face::json(
        StatusCode::OK,
        &json!({ key: items, "links": { "self": format!("{base}{path}"), "previous": null, "next": null } }),
    )
}

fn one(key: &str, item: Value) -> Response {
    face::json(StatusCode::OK, &json!({ key: item }))
}

/// The `domain_id` filter of a list, as a domain reference.
fn domain_filter(query: &QueryPairs<Keystone>) -> std::result::Result<Option<DomainRef>, Error> {
    Ok(query.get("domain_id")?.map(|d| DomainRef::Id(d.to_owned())))
}

pub async fn show_project(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(id, _): PathParams<String, Keystone>,
) -> Result<Response> {
    let who = caller(&state, &headers).await?;
    let p = state.catalog.show_project_for(&who, &id).await?;
    Ok(one("project", render::project(&p)))
}

pub async fn list_projects(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: QueryPairs<Keystone>,
) -> Result<Response> {
    let who = caller(&state, &headers).await?;
    let found = state.catalog.list_projects_for(&who, query.get("name")?, domain_filter(&query)?.as_ref()).await?;
    let items = found.into_iter().map(|p| render::project(&p.into())).collect();
    Ok(listed("projects", items, &headers, &state, "/v3/projects"))
}

pub async fn show_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(id, _): PathParams<String, Keystone>,
) -> Result<Response> {
    let who = caller(&state, &headers).await?;
    let u = state.catalog.show_user_for(&who, &id).await?;
    Ok(one("user", render::user(&u)))
}

pub async fn list_users(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: QueryPairs<Keystone>,
) -> Result<Response> {
    let who = caller(&state, &headers).await?;
    let found = state.catalog.list_users_for(&who, query.get("name")?, domain_filter(&query)?.as_ref()).await?;
    Ok(listed("users", found.iter().map(render::user).collect(), &headers, &state, "/v3/users"))
}

pub async fn user_projects(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(id, _): PathParams<String, Keystone>,
) -> Result<Response> {
    let who = caller(&state, &headers).await?;
    let found = state.catalog.projects_of_user_for(&who, &id).await?;
    let path = format!("/v3/users/{id}/projects");
    Ok(listed("projects", found.iter().map(render::project).collect(), &headers, &state, &path))
}

/// `GET /v3/auth/projects`: the projects the caller's user may scope to.
pub async fn auth_projects(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    let who = caller(&state, &headers).await?;
    let found = state.catalog.auth_projects_for(&who).await?;
    Ok(listed("projects", found.iter().map(render::project).collect(), &headers, &state, "/v3/auth/projects"))
}

pub async fn list_domains(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: QueryPairs<Keystone>,
) -> Result<Response> {
    let who = caller(&state, &headers).await?;
    let found = state.catalog.domains_for(&who, query.get("name")?).await?;
    let items = found.iter().map(|d| render::domain_record(d)).collect();
    Ok(listed("domains", items, &headers, &state, "/v3/domains"))
}

pub async fn show_domain(
    State(state): State<AppState>,
    headers: HeaderMap,
    PathParams(id, _): PathParams<String, Keystone>,
) -> Result<Response> {
    let who = caller(&state, &headers).await?;
    let d = state.catalog.domain_for(&who, &id).await?;
    Ok(one("domain", render::domain_record(&d)))
}
