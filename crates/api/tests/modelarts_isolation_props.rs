//! Property: whatever ModelArts list query project B sends (any filter, sort, page),
//! it never sees project A's private images, and its totals count only what it may see.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{PROJECT_A, PROJECT_B, Server};
use proptest::prelude::*;
use serde_json::json;

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
