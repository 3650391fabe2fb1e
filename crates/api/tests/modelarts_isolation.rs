//! Tenants never see each other's private images: through list (every filter), show,
//! groups and delete, project B gets "not found" for project A's private image.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use common::{PROJECT_A, PROJECT_B, Server, assert_error};
use reqwest::Method;
use serde_json::json;

async fn private_images_are_invisible_to_other_projects(s: Server) {
    let a = s.token(PROJECT_A, "member").await;
    let b = s.token(PROJECT_B, "member").await;
    let private = s
        .register(
            PROJECT_A,
            &a,
            "swr.example.com/secret/model_x:v1",
            json!({"service_type": "TRAIN", "arch": "AARCH64"}),
        )
        .await;
    let public = s.register(PROJECT_A, &a, "swr.example.com/secret/model_x:v2", json!({"visibility": "PUBLIC"})).await;
    let id = private["id"].as_str().unwrap();

    let queries = [
        "",
        "?type=DEDICATED",
        "?type=BUILD_IN",
        "?type=DEDICATED&name=model_x",
        "?type=DEDICATED&name=model_x&name_fuzzy_match=false",
        "?type=DEDICATED&namespace=secret",
        "?type=DEDICATED&service_type=TRAIN",
        "?type=DEDICATED&arch=AARCH64",
        "?type=DEDICATED&workspace_id=0",
        "?type=DEDICATED&sort_key=name,tag&sort_dir=ASC",
        "?type=DEDICATED&limit=1&offset=0",
        "?type=DEDICATED&limit=1&offset=1",
    ];
    for q in queries {
        let r = s.get(&format!("/v1/{PROJECT_B}/images{q}"), &b).await;
        assert_eq!(r.status, 200, "{q}: {}", r.text);
        assert!(!r.text.contains(id), "{q}: B sees A's private image");
        // A sees it where the filter selects it.
        let mine = s.get(&format!("/v1/{PROJECT_A}/images{q}"), &a).await;
        if q.contains("DEDICATED") && !q.contains("limit=1") {
            assert!(mine.text.contains(id), "{q}: A does not see its own image");
        }
    }
    // The public version is listed for B, with a total that counts only what B may see.
    let r = s.get(&format!("/v1/{PROJECT_B}/images?type=DEDICATED"), &b).await;
    assert_eq!(r.body["total"], 1);
    assert_eq!(r.body["data"][0]["id"], public["id"]);

    assert_error(&s.get(&format!("/v1/{PROJECT_B}/images/{id}"), &b).await, 404, "ModelArts.6797");
    let del = s.call(Method::DELETE, &format!("/v1/{PROJECT_B}/images/{id}"), Some(&b), None).await;
    assert_error(&del, 404, "ModelArts.6797");
    // Deleting A's public image: visible, so not hidden, but not B's to delete.
    let pid = public["id"].as_str().unwrap();
    let del = s.call(Method::DELETE, &format!("/v1/{PROJECT_B}/images/{pid}"), Some(&b), None).await;
    assert_error(&del, 403, "ModelArts.0108");

    // Groups: B sees the group with only the public version counted.
    let groups = s.get(&format!("/v1/{PROJECT_B}/images/group?type=DEDICATED"), &b).await;
    assert_eq!(groups.body["total"], 1, "{}", groups.text);
    assert_eq!(groups.body["data"][0]["version_count"], 1);
    let gid = groups.body["data"][0]["id"].as_str().unwrap();
    let mine = s.get(&format!("/v1/{PROJECT_A}/images/group?type=DEDICATED"), &a).await;
    assert_eq!(mine.body["data"][0]["version_count"], 2);
    // B cannot change or delete A's group.
    let upd = s
        .call(Method::PUT, &format!("/v1/{PROJECT_B}/images/group/{gid}"), Some(&b), Some(json!({"read_me": "x"})))
        .await;
    assert_error(&upd, 403, "ModelArts.0108");
    let del = s.call(Method::DELETE, &format!("/v1/{PROJECT_B}/images/group/{gid}"), Some(&b), None).await;
    assert_error(&del, 403, "ModelArts.0108");

    // A group with only private images does not exist for B.
    s.register(PROJECT_A, &a, "swr.example.com/secret/hidden:v1", json!({})).await;
    let hidden = s.get(&format!("/v1/{PROJECT_A}/images/group?name=hidden"), &a).await;
    let hid = hidden.body["data"][0]["id"].as_str().unwrap();
    let del = s.call(Method::DELETE, &format!("/v1/{PROJECT_B}/images/group/{hid}"), Some(&b), None).await;
    assert_error(&del, 404, "ModelArts.6797");
    assert_eq!(s.get(&format!("/v1/{PROJECT_B}/images/group?name=hidden"), &b).await.body["total"], 0);

    // B's token on A's path: 403, whatever the route.
    for path in [
        format!("/v1/{PROJECT_A}/images"),
        format!("/v1/{PROJECT_A}/images/{id}"),
        format!("/v1/{PROJECT_A}/images/group"),
    ] {
        assert_error(&s.get(&path, &b).await, 403, "ModelArts.0210");
    }
}

both_backends!(private_images_are_invisible_to_other_projects);
