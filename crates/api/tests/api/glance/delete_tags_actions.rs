//! `DELETE /v2/images/{id}`, `/tags/{tag}` and `/actions/{deactivate,reactivate}`.

use reqwest::Method;
use serde_json::json;

use super::{JSON, V21, assert_glance_error, create, patch};
use crate::common::{PROJECT_A, Server};

async fn delete_tags_and_actions(s: Server) {
    let t = s.token(PROJECT_A, "member").await;
    let img = create(&s, &t, json!({"name": "p", "protected": true})).await;
    let id = img["id"].as_str().unwrap().to_owned();
    let del = s.raw(Method::DELETE, &format!("/v2/images/{id}"), Some(&t), &[JSON], None).await;
    assert_glance_error(&del, 403, "is protected and cannot be deleted");
    patch(&s, &t, &id, V21, json!([{"op": "replace", "path": "/protected", "value": false}])).await;
    // Tags: PUT is idempotent, DELETE of an absent tag is 404. glanceclient sends an
    // octet-stream Content-Type on these bodiless requests.
    let octet = ("Content-Type", "application/octet-stream");
    for _ in 0..2 {
        assert_eq!(s.raw(Method::PUT, &format!("/v2/images/{id}/tags/x"), Some(&t), &[octet], None).await.status, 204);
    }
    assert_eq!(s.get(&format!("/v2/images/{id}"), &t).await.body["tags"], json!(["x"]));
    assert_eq!(s.raw(Method::DELETE, &format!("/v2/images/{id}/tags/x"), Some(&t), &[], None).await.status, 204);
    assert_glance_error(
        &s.raw(Method::DELETE, &format!("/v2/images/{id}/tags/x"), Some(&t), &[JSON], None).await,
        404,
        "not found",
    );
    let long = "t".repeat(256);
    assert_glance_error(
        &s.raw(Method::PUT, &format!("/v2/images/{id}/tags/{long}"), Some(&t), &[JSON], None).await,
        400,
        "255",
    );
    // Deactivating a queued image: 403 (Glance's code; its api-ref says 400).
    let r = s.raw(Method::POST, &format!("/v2/images/{id}/actions/deactivate"), Some(&t), &[JSON, octet], None).await;
    assert_glance_error(&r, 403, "Not allowed to deactivate image in status 'queued'");
    assert_glance_error(
        &s.raw(Method::POST, &format!("/v2/images/{id}/actions/reactivate"), Some(&t), &[JSON], None).await,
        403,
        "reactivate",
    );
    // An active image (registered through ModelArts) deactivates and reactivates.
    let ma = s.register(PROJECT_A, &t, "swr.example.com/ns/act:1", json!({})).await;
    let mid = ma["id"].as_str().unwrap();
    for (action, status) in [
        ("deactivate", "deactivated"),
        ("deactivate", "deactivated"),
        ("reactivate", "active"),
        ("reactivate", "active"),
    ] {
        assert_eq!(
            s.raw(Method::POST, &format!("/v2/images/{mid}/actions/{action}"), Some(&t), &[], None).await.status,
            204
        );
        assert_eq!(s.get(&format!("/v2/images/{mid}"), &t).await.body["status"], status);
    }
    assert_eq!(s.raw(Method::DELETE, &format!("/v2/images/{id}"), Some(&t), &[], None).await.status, 204);
    assert_glance_error(
        &s.raw(Method::DELETE, &format!("/v2/images/{id}"), Some(&t), &[JSON], None).await,
        404,
        "No image found",
    );
    assert_glance_error(
        &s.raw(Method::GET, &format!("/v2/images/{id}"), Some(&t), &[JSON], None).await,
        404,
        "No image found",
    );
    // Method not allowed, with Allow.
    let r = s.raw(Method::PUT, "/v2/images", Some(&t), &[JSON], None).await;
    assert_glance_error(&r, 405, "not allowed");
    assert!(r.headers.contains_key("allow"));
}

both_backends!(delete_tags_and_actions,);
