//! `PATCH /v2/images/{id}` in both JSON-patch media types.

use serde_json::json;

use super::{V20, V21, assert_glance_error, create, patch};
use crate::common::{PROJECT_A, PROJECT_B, Server};

async fn patch_both_media_types_and_their_rules(s: Server) {
    let t = s.token(PROJECT_A, "member").await;
    let img =
        create(&s, &t, json!({"name": "n", "container_format": "bare", "disk_format": "raw", "extra": "1"})).await;
    let id = img["id"].as_str().unwrap();
    let r = patch(
        &s,
        &t,
        id,
        V21,
        json!([
            {"op": "replace", "path": "/name", "value": "F17"},
            {"op": "replace", "path": "/tags", "value": ["a", "b"]},
            {"op": "add", "path": "/hw_disk_bus", "value": "scsi"},
            {"op": "add", "path": "/extra", "value": "2"},
            {"op": "remove", "path": "/extra"},
            {"op": "add", "path": "/with~1slash", "value": "x"},
        ]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!((r.body["name"].as_str(), r.body["hw_disk_bus"].as_str()), (Some("F17"), Some("scsi")));
    assert_eq!(r.body["tags"], json!(["a", "b"]));
    assert!(r.body.get("extra").is_none());
    assert_eq!(r.body["with/slash"], "x");
    assert!(r.body["updated_at"].as_str().unwrap() >= img["updated_at"].as_str().unwrap());
    // tempest's v2.0 form.
    let r = patch(&s, &t, id, V20, json!([{"replace": "/name", "value": "v20"}])).await;
    assert_eq!(r.body["name"], "v20", "{}", r.text);
    assert_glance_error(
        &patch(&s, &t, id, V20, json!([{"add": "/hw_disk_bus", "value": "ide"}])).await,
        409,
        "already present",
    );
    // Empty patch: unchanged.
    let before = s.get(&format!("/v2/images/{id}"), &t).await.body;
    assert_eq!(patch(&s, &t, id, V21, json!([])).await.body, before);
    for (ops, status, text) in [
        (json!([{"op": "replace", "path": "/missing", "value": "x"}]), 409, "does not exist"),
        (json!([{"op": "remove", "path": "/missing"}]), 409, "does not exist"),
        (json!([{"op": "remove", "path": "/name"}]), 403, "may not be removed"),
        (json!([{"op": "replace", "path": "/status", "value": "active"}]), 403, "read-only"),
        (json!([{"op": "add", "path": "/os_glance_x", "value": "1"}]), 403, "reserved"),
        (
            json!([{"op": "add", "path": "/tags/-", "value": "x"}]),
            400,
            "Invalid JSON pointer for this resource: '/tags/-'",
        ),
        (json!([{"op": "move", "path": "/name", "from": "/x"}]), 400, "Invalid operation"),
        (json!([{"op": "replace", "path": "/name"}]), 400, "value"),
        (json!([{"path": "/name", "value": "x"}]), 400, "op"),
        (json!({"op": "replace"}), 400, "JSON array"),
        (json!([{"op": "replace", "path": "name", "value": "x"}]), 400, "Invalid JSON pointer"),
        (json!([{"op": "add", "path": "/a~2b", "value": "x"}]), 400, "Invalid JSON pointer"),
        (json!([{"op": "add", "path": "/ab~", "value": "x"}]), 400, "Invalid JSON pointer"),
        (json!([{"op": "add", "path": "/~x", "value": "x"}]), 400, "Invalid JSON pointer"),
        (json!([{"op": "replace", "path": "/min_ram", "value": -5}]), 400, "minimum"),
        (json!([{"op": "replace", "path": "/owner", "value": PROJECT_B}]), 403, "Owner can't be updated by non admin."),
        // The whole patch aborts on the second operation: the first does not stick.
        (
            json!([{"op": "replace", "path": "/name", "value": "lost"}, {"op": "remove", "path": "/nope"}]),
            409,
            "does not exist",
        ),
    ] {
        assert_glance_error(&patch(&s, &t, id, V21, ops).await, status, text);
    }
    assert_eq!(s.get(&format!("/v2/images/{id}"), &t).await.body["name"], "v20");
    let wrong_ct = patch(&s, &t, id, ("Content-Type", "application/json"), json!([])).await;
    assert_glance_error(&wrong_ct, 415, "Image PATCH expects Content-Type one of");
    assert!(wrong_ct.headers.get("accept-patch").unwrap().to_str().unwrap().contains("v2.1-json-patch"));
    // Another project may not change it (it is not visible: shared with nobody).
    let b = s.token(PROJECT_B, "member").await;
    assert_glance_error(&patch(&s, &b, id, V21, json!([])).await, 404, "No image found");
}

/// A PATCH that would give two images of a project the same namespace/name:tag is a 409
/// in the catalog's words: no table, constraint or database wording reaches the client.
async fn a_name_collision_is_a_conflict_in_the_catalogs_words(s: Server) {
    let t = s.token(PROJECT_A, "member").await;
    s.register(PROJECT_A, &t, "swr.example.com/ns/first:1", json!({})).await;
    let second = s.register(PROJECT_A, &t, "swr.example.com/ns/second:1", json!({})).await;
    let id = second["id"].as_str().unwrap();
    let r = patch(&s, &t, id, V21, json!([{"op": "replace", "path": "/name", "value": "first"}])).await;
    assert_glance_error(&r, 409, "ns/first:1");
    for word in ["UNIQUE", "constraint", "images_registry_key", "duplicate key", "sqlite", "SQL"] {
        assert!(!r.text.contains(word), "{word:?} reached the client: {}", r.text);
    }
    assert_eq!(s.get(&format!("/v2/images/{id}"), &t).await.body["name"], "second");
}

both_backends!(patch_both_media_types_and_their_rules, a_name_collision_is_a_conflict_in_the_catalogs_words,);
