//! Tenants never see each other's private images through ModelArts: fixed cases, and a property over any list query.

use reqwest::Method;
use serde_json::json;

use crate::common::{PROJECT_A, PROJECT_B, Server, assert_error};
use proptest::prelude::*;

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

fn query() -> impl Strategy<Value = String> {
    let opt = |s: Vec<&'static str>| proptest::option::of(proptest::sample::select(s));
    (
        opt(vec!["BUILD_IN", "DEDICATED"]),
        opt(vec!["model", "secret_model", "x", "pub", "e"]),
        opt(vec!["true", "false"]),
        opt(vec!["secret", "open", "atelier"]),
        opt(vec!["TRAIN", "COMMON", "UNKNOWN"]),
        opt(vec!["X86_64", "AARCH64"]),
        opt(vec!["create_at", "update_at", "name,tag", "size", "createTime"]),
        opt(vec!["ASC", "DESC"]),
        (1u32..50, 0u32..30),
        proptest::bool::ANY,
    )
        .prop_map(|(ty, name, fuzzy, ns, st, arch, sk, sd, (limit, offset), groups)| {
            let mut q = vec![format!("limit={limit}"), format!("offset={offset}")];
            let mut push = |k: &str, v: Option<&str>| {
                if let Some(v) = v {
                    q.push(format!("{k}={v}"));
                }
            };
            push("type", ty);
            push("name", name);
            push("name_fuzzy_match", fuzzy);
            push("namespace", ns);
            push("service_type", st);
            push("arch", arch);
            if !groups {
                push("sort_key", sk);
            }
            push("sort_dir", sd);
            format!("{}?{}", if groups { "/group" } else { "" }, q.join("&"))
        })
}

#[test]
fn other_projects_never_see_private_images_sqlite() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let s = rt.block_on(Server::sqlite());
    check(&rt, s);
}

#[test]
fn other_projects_never_see_private_images_postgres() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    if let Some(s) = rt.block_on(Server::postgres("other_projects_never_see_private_images_postgres")) {
        check(&rt, s);
    }
}

fn check(rt: &tokio::runtime::Runtime, s: Server) {
    let (b, secret_ids, visible_dedicated) = rt.block_on(async {
        let a = s.token(PROJECT_A, "member").await;
        let b = s.token(PROJECT_B, "member").await;
        let mut secret = Vec::new();
        for (i, ns) in ["secret", "open"].iter().enumerate() {
            for tag in 0..4 {
                let img = s
                    .register(
                        PROJECT_A,
                        &a,
                        &format!("swr.example.com/{ns}/secret_model:v{tag}"),
                        json!({"service_type": if tag % 2 == 0 { "TRAIN" } else { "COMMON" }, "arch": if i == 0 { "AARCH64" } else { "X86_64" }}),
                    )
                    .await;
                secret.push(img["id"].as_str().unwrap().to_owned());
            }
        }
        // One public image of A and two of B's own.
        s.register(PROJECT_A, &a, "swr.example.com/open/pub_model:v1", json!({"visibility": "PUBLIC", "service_type": "TRAIN"})).await;
        s.register(PROJECT_B, &b, "swr.example.com/bns/model_b:v1", json!({})).await;
        s.register(PROJECT_B, &b, "swr.example.com/bns/model_b:v2", json!({"arch": "AARCH64"})).await;
        (b, secret, 3)
    });
    let group_name = "secret_model";
    proptest!(ProptestConfig::with_cases(96), |(q in query())| {
        let r = rt.block_on(s.get(&format!("/v1/{PROJECT_B}/images{q}"), &b));
        prop_assert_eq!(r.status.as_u16(), 200, "{}: {}", q, r.text);
        for id in &secret_ids {
            prop_assert!(!r.text.contains(id.as_str()), "{} leaked {}", q, id);
        }
        if q.starts_with("/group") {
            // A's private group is invisible to B.
            let groups = r.body["data"].as_array().unwrap();
            prop_assert!(groups.iter().all(|g| g["name"] != group_name), "{}: {}", q, r.text);
        } else if q.contains("type=DEDICATED") && !q.contains("name=") && !q.contains("namespace=")
            && !q.contains("service_type=") && !q.contains("arch=") {
            prop_assert_eq!(r.body["total"].as_u64().unwrap(), visible_dedicated, "{}", q);
        }
    });
}

both_backends!(private_images_are_invisible_to_other_projects,);
