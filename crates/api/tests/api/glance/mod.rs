//! The Glance face, route by route, with the error rules of spec/glance.md.

mod create;
mod data;
mod delete_tags_actions;
mod discovery;
mod errors;
mod list;
mod members;
mod update;
mod visibility;

use reqwest::Method;
use serde_json::Value;

use crate::common::{Resp, Server};

pub(super) const JSON: (&str, &str) = ("Accept", "application/json");

pub(super) const V21: (&str, &str) = ("Content-Type", "application/openstack-images-v2.1-json-patch");

pub(super) const V20: (&str, &str) = ("Content-Type", "application/openstack-images-v2.0-json-patch");

pub(super) async fn create(s: &Server, token: &str, body: Value) -> Value {
    let r = s.call(Method::POST, "/v2/images", Some(token), Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

pub(super) fn assert_glance_error(r: &Resp, status: u16, contains: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    assert!(r.text.contains(contains), "expected {contains:?} in {}", r.text);
    assert!(r.headers.contains_key("x-openstack-request-id"), "no request id");
}

pub(super) async fn patch(s: &Server, token: &str, id: &str, ct: (&str, &str), ops: Value) -> Resp {
    s.raw(Method::PATCH, &format!("/v2/images/{id}"), Some(token), &[ct, JSON], Some(&ops.to_string())).await
}
