//! The Glance face, endpoint by endpoint, with the error rules of spec/glance.md.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use common::{ADMIN_TOKEN, PROJECT_A, PROJECT_B, Resp, Server};
use reqwest::Method;
use serde_json::{Value, json};

const JSON: (&str, &str) = ("Accept", "application/json");
const V21: (&str, &str) = ("Content-Type", "application/openstack-images-v2.1-json-patch");
const V20: (&str, &str) = ("Content-Type", "application/openstack-images-v2.0-json-patch");

async fn create(s: &Server, token: &str, body: Value) -> Value {
    let r = s.call(Method::POST, "/v2/images", Some(token), Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

fn assert_glance_error(r: &Resp, status: u16, contains: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    assert!(r.text.contains(contains), "expected {contains:?} in {}", r.text);
    assert!(r.headers.contains_key("x-openstack-request-id"), "no request id");
}

async fn patch(s: &Server, token: &str, id: &str, ct: (&str, &str), ops: Value) -> Resp {
    s.raw(Method::PATCH, &format!("/v2/images/{id}"), Some(token), &[ct, JSON], Some(&ops.to_string())).await
}

async fn discovery_and_schemas(s: Server) {
    let root = s.raw(Method::GET, "/", None, &[], None).await;
    assert_eq!(root.status, 300);
    assert_eq!(root.body["versions"][0]["id"], "v2.7");
    assert_eq!(root.body["versions"][0]["status"], "CURRENT");
    assert!(root.body["versions"][0]["links"][0]["href"].as_str().unwrap().ends_with("/v2/"));
    for path in ["/versions", "/v2", "/v2/"] {
        let r = s.raw(Method::GET, path, None, &[], None).await;
        assert_eq!((r.status.as_u16(), &r.body), (200, &root.body), "{path}");
    }
    assert_eq!(s.raw(Method::GET, "/v3/images", None, &[], None).await.status, 300);
    let schema = s.raw(Method::GET, "/v2/schemas/image", None, &[], None).await;
    assert_eq!(schema.body["name"], "image");
    assert_eq!(schema.body["additionalProperties"]["type"], "string");
    assert_eq!(schema.body["properties"]["os_distro"]["is_base"], false);
    assert!(!schema.text.contains("\"default\""), "warlock copies defaults into requests");
    for (path, name) in
        [("/v2/schemas/images", "images"), ("/v2/schemas/member", "member"), ("/v2/schemas/members", "members")]
    {
        assert_eq!(s.raw(Method::GET, path, None, &[], None).await.body["name"], name);
    }
    assert_glance_error(&s.raw(Method::GET, "/v2/nothing", None, &[JSON], None).await, 404, "could not be found");
}

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

async fn members_rules(s: Server) {
    let a = s.token(PROJECT_A, "member").await;
    let b = s.token(PROJECT_B, "member").await;
    let private = create(&s, &a, json!({"name": "priv", "visibility": "private"})).await;
    let pid = private["id"].as_str().unwrap();
    let r = s
        .raw(
            Method::POST,
            &format!("/v2/images/{pid}/members"),
            Some(&a),
            &[JSON, ("Content-Type", "application/json")],
            Some(&json!({"member": PROJECT_B}).to_string()),
        )
        .await;
    assert_glance_error(&r, 403, "Only shared images have members.");
    let shared = create(&s, &a, json!({"name": "sh"})).await;
    let id = shared["id"].as_str().unwrap();
    let add = |who: &'static str, token: String| {
        let s = &s;
        async move {
            s.raw(
                Method::POST,
                &format!("/v2/images/{id}/members"),
                Some(&token),
                &[JSON, ("Content-Type", "application/json")],
                Some(&json!({"member": who}).to_string()),
            )
            .await
        }
    };
    let r = add(PROJECT_B, a.clone()).await;
    assert_eq!(r.status, 200, "member create answers 200: {}", r.text);
    assert_eq!((r.body["member_id"].as_str(), r.body["status"].as_str()), (Some(PROJECT_B), Some("pending")));
    assert_eq!(r.body["schema"], "/v2/schemas/member");
    assert_glance_error(&add(PROJECT_B, a.clone()).await, 409, "is duplicated for image");
    let r = s
        .raw(
            Method::POST,
            &format!("/v2/images/{id}/members"),
            Some(&a),
            &[JSON, ("Content-Type", "application/json")],
            Some("{}"),
        )
        .await;
    assert_glance_error(&r, 400, "not specified");
    // The member sees the image (any status) but not in its default list until accepted.
    assert_eq!(s.get(&format!("/v2/images/{id}"), &b).await.status, 200);
    let listed = |token: String, q: &'static str| {
        let s = &s;
        async move { s.get(&format!("/v2/images{q}"), &token).await.text.contains(id) }
    };
    assert!(!listed(b.clone(), "").await);
    assert!(listed(b.clone(), "?visibility=shared&member_status=pending").await);
    let set = |status: &'static str, token: String| {
        let s = &s;
        async move {
            s.raw(
                Method::PUT,
                &format!("/v2/images/{id}/members/{PROJECT_B}"),
                Some(&token),
                &[JSON, ("Content-Type", "application/json")],
                Some(&json!({"status": status}).to_string()),
            )
            .await
        }
    };
    assert_glance_error(&set("accepted", a.clone()).await, 403, "only the member");
    assert_glance_error(&set("maybe", b.clone()).await, 400, "Invalid status");
    assert_eq!(set("accepted", b.clone()).await.body["status"], "accepted");
    assert!(listed(b.clone(), "").await);
    assert_eq!(set("rejected", b.clone()).await.body["status"], "rejected");
    assert!(!listed(b.clone(), "").await);
    assert!(listed(b.clone(), "?member_status=all").await);
    // Owner sees every member; the member its own row.
    let owner_view = s.get(&format!("/v2/images/{id}/members"), &a).await;
    assert_eq!(owner_view.body["members"].as_array().unwrap().len(), 1);
    assert_eq!(owner_view.body["schema"], "/v2/schemas/members");
    assert_eq!(s.get(&format!("/v2/images/{id}/members/{PROJECT_B}"), &b).await.body["status"], "rejected");
    // A third project sees nothing.
    let c = s.token("cccccccccccccccccccccccccccccccc", "member").await;
    assert_glance_error(
        &s.raw(Method::GET, &format!("/v2/images/{id}/members"), Some(&c), &[JSON], None).await,
        404,
        "No image found",
    );
    // Only the owner removes.
    assert_glance_error(
        &s.raw(Method::DELETE, &format!("/v2/images/{id}/members/{PROJECT_B}"), Some(&b), &[JSON], None).await,
        403,
        "owner",
    );
    assert_eq!(
        s.raw(Method::DELETE, &format!("/v2/images/{id}/members/{PROJECT_B}"), Some(&a), &[], None).await.status,
        204
    );
    assert_glance_error(
        &s.raw(Method::GET, &format!("/v2/images/{id}"), Some(&b), &[JSON], None).await,
        404,
        "No image found",
    );
}

async fn list_filters_sort_paging_and_links(s: Server) {
    let t = s.token(PROJECT_A, "member").await;
    let mut ids = Vec::new();
    for n in 0..7 {
        let body = json!({
            "name": format!("img-{n}"), "visibility": "private", "tags": if n % 2 == 0 { json!(["even", "all"]) } else { json!(["all"]) },
            "container_format": "bare", "disk_format": if n < 3 { "raw" } else { "qcow2" }, "min_ram": n * 256,
            "os_distro": if n % 3 == 0 { "ubuntu" } else { "centos" }, "os_hidden": n == 6, "protected": n == 5,
        });
        ids.push(create(&s, &t, body).await["id"].as_str().unwrap().to_owned());
    }
    let names = |r: &Resp| {
        r.body["images"]
            .as_array()
            .unwrap_or_else(|| panic!("{}", r.text))
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let q = |query: &str| format!("/v2/images?visibility=private&{query}");
    assert_eq!(
        names(&s.get(&q("sort=name:asc"), &t).await),
        ["img-0", "img-1", "img-2", "img-3", "img-4", "img-5"],
        "hidden excluded by default"
    );
    assert_eq!(names(&s.get(&q("os_hidden=true"), &t).await), ["img-6"]);
    assert_eq!(names(&s.get(&q("tag=even&tag=all&sort_key=name&sort_dir=asc"), &t).await), ["img-0", "img-2", "img-4"]);
    assert_eq!(names(&s.get(&q("os_distro=ubuntu&sort=name:asc"), &t).await), ["img-0", "img-3"]);
    assert_eq!(names(&s.get(&q("name=in:img-1,%22img-2%22&sort=name:asc"), &t).await), ["img-1", "img-2"]);
    assert_eq!(names(&s.get(&q("name=eq:img-4"), &t).await), ["img-4"]);
    assert_eq!(
        names(&s.get(&q("disk_format=qcow2&min_ram_min=768&sort=name:desc"), &t).await),
        ["img-5", "img-4", "img-3"]
    );
    assert_eq!(names(&s.get(&q("protected=true"), &t).await), ["img-5"]);
    assert_eq!(names(&s.get(&q("min_ram=512"), &t).await), ["img-2"]);
    // Time filters: a created_at copied from a response finds its image.
    let created = s.get(&format!("/v2/images/{}", ids[0]), &t).await.body["created_at"].as_str().unwrap().to_owned();
    assert!(names(&s.get(&q(&format!("created_at=eq:{created}")), &t).await).contains(&"img-0".to_owned()));
    assert!(
        names(&s.get(&q(&format!("created_at=lte:{}", created.replace('T', "%20").trim_end_matches('Z'))), &t).await)
            .contains(&"img-0".to_owned())
    );
    assert_eq!(names(&s.get(&q("created_at=lt:2000-01-01T00:00:00Z"), &t).await), Vec::<String>::new());
    // Paging: next keeps the query (repeated tags too) and is absent after the last row.
    let mut url = q("tag=all&tag=all&limit=2&sort=name:asc");
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let r = s.get(&url, &t).await;
        assert_eq!(r.body["schema"], "/v2/schemas/images");
        assert!(!r.body["first"].as_str().unwrap().contains("marker="));
        seen.extend(names(&r));
        pages += 1;
        match r.body.get("next").and_then(Value::as_str) {
            Some(next) => {
                assert!(next.starts_with("/v2/images?") && next.matches("tag=all").count() == 2, "{next}");
                url = next.to_owned();
            }
            None => break,
        }
    }
    assert_eq!(seen, ["img-0", "img-1", "img-2", "img-3", "img-4", "img-5"]);
    assert_eq!(pages, 3, "a full last page has no next");
    assert_eq!(s.get("/v2/images?limit=0", &t).await.body["images"], json!([]));
    assert_eq!(s.get("/v2/images", &t).await.body["first"], "/v2/images");
    // Errors.
    let other = s.token(PROJECT_B, "member").await;
    for (query, status, text) in [
        ("limit=x", 400, "limit param must be an integer"),
        ("limit=-1", 400, "limit param must be positive"),
        ("sort_key=bogus", 400, "Invalid sort key: bogus"),
        ("sort_dir=up", 400, "Invalid sort direction: up"),
        ("sort=name&sort_key=size", 400, "cannot be combined"),
        ("sort_key=name&sort_key=size&sort_dir=asc&sort_dir=desc&sort_dir=asc", 400, "does not match"),
        ("name=foo:bar", 400, "Unable to filter by unknown operator 'foo'."),
        ("visibility=everyone", 400, "Invalid visibility value: everyone"),
        ("member_status=maybe", 400, "Invalid status: maybe"),
        ("size_min=big", 400, "non-numeric"),
        ("protected=True", 400, "protected"),
        ("os_hidden=1", 400, "os_hidden"),
        ("created_at=2020-13-45", 400, "Use ISO 8601 DateTime notation."),
        ("changes-since=2020-01-01T00:00:00Z", 400, "no longer available on v2"),
        ("marker=00000000-0000-4000-8000-000000000000", 400, "No image found with ID"),
        ("marker=abc", 400, "No image found with ID abc"),
    ] {
        assert_glance_error(
            &s.raw(Method::GET, &format!("/v2/images?{query}"), Some(&t), &[JSON], None).await,
            status,
            text,
        );
    }
    let hidden_marker = s.raw(Method::GET, &format!("/v2/images?marker={}", ids[0]), Some(&other), &[JSON], None).await;
    assert_glance_error(&hidden_marker, 403, "not visible");
}

async fn error_bodies_follow_accept(s: Server) {
    let t = s.token(PROJECT_A, "member").await;
    let path = "/v2/images/00000000-0000-4000-8000-000000000000";
    let html = s.raw(Method::GET, path, Some(&t), &[("Accept", "*/*")], None).await;
    assert!(html.headers["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(html.text.contains("<title>404 Not Found</title>") && html.text.contains("<h1>404 Not Found</h1>"));
    let json = s.raw(Method::GET, path, Some(&t), &[JSON], None).await;
    assert_eq!(json.body["code"], "404 Not Found");
    assert_eq!(json.body["title"], "Not Found");
    assert!(json.body["message"].as_str().unwrap().starts_with("No image found with ID"));
    let plain = s.raw(Method::GET, path, Some(&t), &[("Accept", "")], None).await;
    assert!(plain.headers["content-type"].to_str().unwrap().starts_with("text/plain"));
    assert!(plain.text.starts_with("404 Not Found\n\nNo image found with ID"));
    let unauth = s.raw(Method::GET, "/v2/images", None, &[JSON], None).await;
    assert_eq!(unauth.status, 401);
    assert_eq!(unauth.body["code"], "401 Unauthorized");
    // The client's own request id is echoed.
    let echoed = s.raw(Method::GET, "/v2/images", Some(&t), &[("X-Openstack-Request-ID", "req-1234-abcd")], None).await;
    assert_eq!(echoed.headers["x-openstack-request-id"], "req-1234-abcd");
}

/// One catalog, every face: a ModelArts image in Glance and SCNet; a Glance docker image in
/// ModelArts and SCNet; a Glance VM image in neither.
async fn cross_face(s: Server) {
    let t = s.token(PROJECT_A, "member").await;
    let ma = s
        .register(
            PROJECT_A,
            &t,
            "swr.example.com/team/pytorch:2.1",
            json!({"service_type": "TRAIN", "arch": "AARCH64", "image_type": "JupyterLab", "description": "d"}),
        )
        .await;
    let g = s.get(&format!("/v2/images/{}", ma["id"].as_str().unwrap()), &t).await.body;
    assert_eq!(
        (g["container_format"].as_str(), g["disk_format"].as_str(), g["status"].as_str()),
        (Some("docker"), Some("raw"), Some("active"))
    );
    assert_eq!(g["swr_path"], "swr.example.com/team/pytorch:2.1");
    assert_eq!((g["swr_namespace"].as_str(), g["swr_tag"].as_str()), (Some("team"), Some("2.1")));
    assert_eq!((g["service_type"].as_str(), g["architecture"].as_str()), (Some("TRAIN"), Some("aarch64")));
    assert_eq!(
        (g["image_type"].as_str(), g["modelarts_type"].as_str(), g["description"].as_str()),
        (Some("JupyterLab"), Some("DEDICATED"), Some("d"))
    );
    assert_eq!(g["visibility"], "private");
    // A Glance-created container image with SCNet attributes as properties.
    let docker = create(&s, &t, json!({"name": "from-glance", "container_format": "docker", "disk_format": "raw", "visibility": "private",
        "image_type": "codeserver", "accelerator_type": "dcu", "swr_path": "registry:5000/dcu/from-glance:1", "resource_categories": "CPU,GPU"})).await;
    assert_eq!(docker["image_type"], "CodeServer");
    let vm = create(
        &s,
        &t,
        json!({"name": "ubuntu-vm", "container_format": "bare", "disk_format": "qcow2", "visibility": "public"}),
    )
    .await;
    let ma_list = s.get(&format!("/v1/{PROJECT_A}/images?type=DEDICATED"), &t).await;
    assert!(ma_list.text.contains(docker["id"].as_str().unwrap()), "{}", ma_list.text);
    assert!(!ma_list.text.contains(vm["id"].as_str().unwrap()));
    let shown = s.get(&format!("/v1/{PROJECT_A}/images/{}", docker["id"].as_str().unwrap()), &t).await;
    assert_eq!(
        (shown.body["name"].as_str(), shown.body["resource_categories"].clone()),
        (Some("from-glance"), json!(["CPU", "GPU"]))
    );
    let scnet = Server::read(
        s.http
            .get(format!("{}/ai/openapi/v2/instance-service/images?imageType=CodeServer", s.base))
            .header("token", &t)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let items = scnet.body["data"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", scnet.text);
    assert_eq!(
        (items[0]["acceleratorType"].as_str(), items[0]["path"].as_str()),
        (Some("dcu"), Some("registry:5000/dcu/from-glance:1"))
    );
    let all = Server::read(
        s.http
            .get(format!("{}/ai/openapi/v2/instance-service/images", s.base))
            .header("token", &t)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(!all.text.contains(&vm["id"].as_str().unwrap().replace('-', "")), "a VM image is not an SCNet image");
    // Glance lists built-in images too (public, system project).
    let builtin = s.get("/v2/images?owner=00000000000000000000000000000000&limit=100", &t).await;
    assert_eq!(builtin.body["images"].as_array().unwrap().len(), 24);
    // A PATCH through Glance shows through ModelArts; modelarts_type cannot be set.
    let id = ma["id"].as_str().unwrap();
    patch(&s, &t, id, V21, json!([{"op": "replace", "path": "/description", "value": "changed"}])).await;
    assert_eq!(s.get(&format!("/v1/{PROJECT_A}/images/{id}"), &t).await.body["description"], "changed");
    assert_glance_error(
        &patch(&s, &t, id, V21, json!([{"op": "replace", "path": "/modelarts_type", "value": "BUILD_IN"}])).await,
        403,
        "read-only",
    );
}

both_backends!(
    discovery_and_schemas,
    create_show_and_defaults,
    patch_both_media_types_and_their_rules,
    delete_tags_and_actions,
    members_rules,
    list_filters_sort_paging_and_links,
    error_bodies_follow_accept,
    cross_face
);
