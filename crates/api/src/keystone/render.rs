//! Keystone's shapes: the version document, tokens with their service catalog, and the
//! project, user and domain records.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use imagehub_catalog::identity::{ProjectView, TokenDetails, domain_id};
use imagehub_catalog::{Role, UserRecord};
use serde_json::{Value, json};

use crate::AppState;
use crate::face;

/// The identity API version this face reports (the methods it serves are in v3.0).
const VERSION: &str = "v3.14";

/// `GET /v3`: Keystone's version document (unauthenticated; keystoneauth's discovery).
pub async fn version(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let base = state.settings.base_url(&headers);
    face::json(
        StatusCode::OK,
        &json!({ "version": {
            "id": VERSION,
            "status": "stable",
            "updated": "2020-04-07T00:00:00Z",
            "links": [{ "rel": "self", "href": format!("{base}/v3/") }],
            "media-types": [{ "base": "application/json", "type": "application/vnd.openstack.identity-v3+json" }],
        }}),
    )
}

/// Keystone's time format: microseconds and `Z` (what keystoneauth and tempest parse).
pub fn keystone_time(ms: i64) -> String {
    let secs = crate::time::iso_utc(ms);
    let whole = secs.strip_suffix('Z').unwrap_or(&secs);
    format!("{whole}.{:03}000Z", ms.rem_euclid(1000))
}

pub fn domain(name: &str) -> Value {
    json!({ "id": domain_id(name), "name": name })
}

/// A role's id: stable, derived from its name.
fn role_id(role: Role) -> String {
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, format!("imagehub.role.{}", role.as_str()).as_bytes())
        .simple()
        .to_string()
}

/// The roles a token carries: the assigned one and those it implies (admin ⊃ member ⊃
/// reader, Keystone's default implied roles).
fn roles(role: Role) -> Value {
    let implied: &[Role] = match role {
        Role::Admin => &[Role::Admin, Role::Member, Role::Reader],
        Role::Member => &[Role::Member, Role::Reader],
        Role::Reader => &[Role::Reader],
    };
    implied.iter().map(|&r| json!({ "id": role_id(r), "name": r.as_str() })).collect()
}

/// A stable id for a catalog entry.
fn entry_id(what: &str) -> String {
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, format!("imagehub.catalog.{what}").as_bytes()).simple().to_string()
}

/// One service of the catalog: the same URL on the public, internal and admin interfaces.
fn service(kind: &str, name: &str, url: &str, region: &str) -> Value {
    let endpoints: Vec<Value> = ["public", "internal", "admin"]
        .iter()
        .map(|interface| {
            json!({
                "id": entry_id(&format!("{kind}.{interface}")),
                "interface": interface,
                "region": region,
                "region_id": region,
                "url": url,
            })
        })
        .collect();
    json!({ "id": entry_id(kind), "type": kind, "name": name, "endpoints": endpoints })
}

/// The service catalog: the image service at this server's root (clients discover its
/// version there) and the identity service at `/v3`.
fn catalog(base: &str, region: &str) -> Value {
    json!([service("image", "glance", base, region), service("identity", "keystone", &format!("{base}/v3"), region)])
}

pub fn project(p: &ProjectView) -> Value {
    json!({
        "id": p.id.as_str(),
        "name": p.name,
        "domain_id": domain_id(&p.domain),
        "description": "",
        "enabled": true,
        "is_domain": false,
        "parent_id": domain_id(&p.domain),
        "tags": [],
        "options": {},
    })
}

pub fn user(u: &UserRecord) -> Value {
    json!({
        "id": u.id,
        "name": u.name,
        "domain_id": domain_id(&u.domain),
        "enabled": u.enabled,
        "default_project_id": u.default_project.as_ref().map(|p| p.as_str()),
        "password_expires_at": null,
        "options": {},
    })
}

pub fn domain_record(name: &str) -> Value {
    json!({ "id": domain_id(name), "name": name, "description": "", "enabled": true, "tags": [], "options": {} })
}

/// A token's body; `audit_id`: its public id; the catalog when `with_catalog`.
pub fn token(details: &TokenDetails, methods: &[&str], audit_id: &str, with_catalog: Option<(&str, &str)>) -> Value {
    let mut t = json!({
        "methods": methods,
        "user": {
            "id": details.user.id,
            "name": details.user.name,
            "domain": domain(&details.user.domain),
            "password_expires_at": null,
        },
        "audit_ids": [audit_id],
        "issued_at": keystone_time(details.issued_at.0),
        "expires_at": details.expires_at.map(|e| keystone_time(e.0)),
        "project": {
            "id": details.project.id.as_str(),
            "name": details.project.name,
            "domain": domain(&details.project.domain),
        },
        "is_domain": false,
        "roles": roles(details.role),
    });
    if let (Some((base, region)), Some(obj)) = (with_catalog, t.as_object_mut()) {
        obj.insert("catalog".into(), catalog(base, region));
    }
    json!({ "token": t })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_have_microseconds_and_z() {
        assert_eq!(keystone_time(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(keystone_time(1_700_000_000_123), "2023-11-14T22:13:20.123000Z");
    }

    #[test]
    fn roles_imply_the_lesser_ones() {
        let names =
            |r| roles(r).as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
        assert_eq!(names(Role::Admin), ["admin", "member", "reader"]);
        assert_eq!(names(Role::Reader), ["reader"]);
        let id = role_id(Role::Admin);
        assert!(id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        assert_ne!(role_id(Role::Admin), role_id(Role::Member));
    }
}
