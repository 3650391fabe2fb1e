//! `/v2/images/{id}/members[/{member}]`.

use reqwest::Method;
use serde_json::json;

use super::{JSON, assert_glance_error, create};
use crate::common::{PROJECT_A, PROJECT_B, Server};

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

both_backends!(members_rules,);
