//! `POST /v2/images` and `GET /v2/images/{id}`: defaults, checks, the `Location`.

use reqwest::Method;
use serde_json::json;

use super::{JSON, assert_glance_error, create};
use crate::common::{ADMIN_TOKEN, PROJECT_A, PROJECT_B, Server};

async fn create_show_and_defaults(s: Server) {
    let t = s.token(PROJECT_A, "member").await;
    let img = create(&s, &t, json!({"name": "Ubuntu", "container_format": "bare", "disk_format": "raw", "tags": ["a", "a", "b"], "foo": "bar"})).await;
    assert_eq!(img["status"], "queued");
    assert_eq!(img["visibility"], "shared", "Glance's default visibility");
    assert_eq!(img["owner"], PROJECT_A);
    assert_eq!(img["tags"], json!(["a", "b"]));
    assert_eq!(img["foo"], "bar");
    for k in ["checksum", "size", "virtual_size", "os_hash_algo", "os_hash_value"] {
        assert!(img[k].is_null(), "{k} is null until data exists");
    }
    let id = img["id"].as_str().unwrap();
    assert_eq!(img["self"], format!("/v2/images/{id}"));
    assert_eq!(img["file"], format!("/v2/images/{id}/file"));
    assert!(img["created_at"].as_str().unwrap().ends_with('Z'));
    let shown = s.get(&format!("/v2/images/{id}"), &t).await;
    assert_eq!(shown.body, img);
    // A client-chosen id; the same id again is a conflict.
    let chosen = "11111111-2222-4333-8444-555555555555";
    let r = s.call(Method::POST, "/v2/images", Some(&t), Some(json!({"id": chosen}))).await;
    assert_eq!(r.status, 201);
    let created = s
        .raw(
            Method::POST,
            "/v2/images",
            Some(&t),
            &[JSON, ("Content-Type", "application/json")],
            Some(&json!({"id": chosen}).to_string()),
        )
        .await;
    assert_glance_error(&created, 409, "already exists");
    // Read-only, reserved, schema violations, other owners.
    for (body, status, text) in [
        (json!({"status": "active"}), 403, "Attribute 'status' is read-only."),
        (json!({"size": 5}), 403, "read-only"),
        (json!({"os_glance_import_task": "x"}), 403, "is reserved"),
        (json!({"locations": []}), 403, "is reserved"),
        (json!({"deleted": "x"}), 403, "is reserved"),
        (json!({"container_format": "zip"}), 400, "does not match schema"),
        (json!({"min_ram": -1}), 400, "minimum"),
        (json!({"protected": "yes"}), 400, "boolean"),
        (json!({"foo": 5}), 400, "string"),
        (json!({"id": "not-a-uuid"}), 400, "uuid"),
        (json!({"owner": PROJECT_B}), 403, "not permitted to create images owned by"),
    ] {
        let r = s
            .raw(
                Method::POST,
                "/v2/images",
                Some(&t),
                &[JSON, ("Content-Type", "application/json")],
                Some(&body.to_string()),
            )
            .await;
        assert_glance_error(&r, status, text);
    }
    // An admin may create for another project.
    let r = create(&s, ADMIN_TOKEN, json!({"owner": PROJECT_B, "name": "for-b"})).await;
    assert_eq!(r["owner"], PROJECT_B);
    assert_glance_error(
        &s.raw(Method::GET, "/v2/images/00000000-0000-4000-8000-000000000000", Some(&t), &[JSON], None).await,
        404,
        "No image found with ID",
    );
    assert_glance_error(
        &s.raw(Method::GET, "/v2/images/abc", Some(&t), &[JSON], None).await,
        404,
        "No image found with ID abc",
    );
}

both_backends!(create_show_and_defaults,);
