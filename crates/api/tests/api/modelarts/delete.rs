//! DeleteImage: `DELETE /v1/{project_id}/images/{id}`.

use reqwest::Method;
use serde_json::json;

use crate::common::{ADMIN_TOKEN, PROJECT_A, SYSTEM, Server, assert_error};

async fn delete_image_answers_deleted_and_builtin_needs_admin(s: Server) {
    let t = s.token(PROJECT_A, "member").await;
    let img = s.register(PROJECT_A, &t, "swr.example.com/ns/n:t1", json!({})).await;
    let id = img["id"].as_str().unwrap();
    let del = s
        .call(Method::DELETE, &format!("/v1/{PROJECT_A}/images/{id}"), Some(&t), Some(json!({"is_force": true})))
        .await;
    assert_eq!(del.status, 200, "{}", del.text);
    assert_eq!(del.body["status"], "DELETED");
    assert_eq!(del.body["id"], id);
    assert_error(&s.get(&format!("/v1/{PROJECT_A}/images/{id}"), &t).await, 404, "ModelArts.6797");
    assert_error(
        &s.call(Method::DELETE, &format!("/v1/{PROJECT_A}/images/{id}"), Some(&t), None).await,
        404,
        "ModelArts.6797",
    );

    let builtin = "e1a07296-22a8-4f05-8bc8-e936c8e54099";
    let refused = s.call(Method::DELETE, &format!("/v1/{PROJECT_A}/images/{builtin}"), Some(&t), None).await;
    assert_error(&refused, 403, "ModelArts.0108");
    let ok = s.call(Method::DELETE, &format!("/v1/{SYSTEM}/images/{builtin}"), Some(ADMIN_TOKEN), None).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(s.get(&format!("/v1/{PROJECT_A}/images"), &t).await.body["total"], 23);
}

async fn readers_read_but_do_not_write(s: Server) {
    let member = s.token(PROJECT_A, "member").await;
    let reader = s.token(PROJECT_A, "reader").await;
    let img = s.register(PROJECT_A, &member, "swr.example.com/ns/n:t1", json!({})).await;
    let id = img["id"].as_str().unwrap();
    assert_eq!(s.get(&format!("/v1/{PROJECT_A}/images/{id}"), &reader).await.status, 200);
    let r = s
        .call(
            Method::POST,
            &format!("/v1/{PROJECT_A}/images"),
            Some(&reader),
            Some(json!({"swr_path": "swr.example.com/ns/n:t2"})),
        )
        .await;
    assert_error(&r, 403, "ModelArts.0108");
    let r = s.call(Method::DELETE, &format!("/v1/{PROJECT_A}/images/{id}"), Some(&reader), None).await;
    assert_error(&r, 403, "ModelArts.0108");
}

both_backends!(delete_image_answers_deleted_and_builtin_needs_admin, readers_read_but_do_not_write,);
