//! Requests signed with access keys (SDK-HMAC-SHA256) on every face, each way a signature
//! can be wrong, and SCNet's access-key login with expiring tokens.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

use common::{PROJECT_A, PROJECT_B, Resp, Server};
use imagehub_api::signing::{canonical_request, sdk_date, string_to_sign};
use imagehub_catalog::secrets::{hex, hmac_sha256};
use imagehub_catalog::{Millis, ProjectId, Role};
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::json;

struct Key {
    ak: String,
    sk: String,
}

async fn key(s: &Server, project: &str) -> Key {
    let (ak, sk) = s.catalog.create_access_key(&ProjectId::parse(project).unwrap(), Role::Member, None).await.unwrap();
    Key { ak, sk }
}

/// What to change after signing, to see it refused.
#[derive(Clone, Copy, PartialEq)]
enum Tamper {
    None,
    WrongSecret,
    Query,
    Body,
    UnsignedHost,
    DateOff(i64),
}

/// Signs like the official SDK: every header, SHA-256 of the body.
async fn signed(
    s: &Server,
    k: &Key,
    project: &str,
    method: Method,
    path_and_query: &str,
    body: Option<&str>,
    tamper: Tamper,
) -> Resp {
    let host = s.base.trim_start_matches("http://").to_owned();
    let now = Millis(Millis::now().0 + if let Tamper::DateOff(m) = tamper { m * 60_000 } else { 0 });
    let mut h = HeaderMap::new();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h.insert("host", HeaderValue::from_str(&host).unwrap());
    h.insert("x-project-id", HeaderValue::from_str(project).unwrap());
    h.insert("x-sdk-date", HeaderValue::from_str(&sdk_date(now)).unwrap());
    let signed_headers: Vec<String> = if tamper == Tamper::UnsignedHost {
        vec!["content-type".into(), "x-project-id".into(), "x-sdk-date".into()]
    } else {
        vec!["content-type".into(), "host".into(), "x-project-id".into(), "x-sdk-date".into()]
    };
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let body = body.unwrap_or("");
    let canonical = canonical_request(method.as_str(), path, query, &h, &signed_headers, body.as_bytes()).unwrap();
    let secret = if tamper == Tamper::WrongSecret { "not-the-secret".to_owned() } else { k.sk.clone() };
    let sig = hex(&hmac_sha256(secret.as_bytes(), string_to_sign(&sdk_date(now), &canonical).as_bytes()));
    h.insert(
        "authorization",
        HeaderValue::from_str(&format!(
            "SDK-HMAC-SHA256 Access={}, SignedHeaders={}, Signature={sig}",
            k.ak,
            signed_headers.join(";")
        ))
        .unwrap(),
    );
    let url = match tamper {
        Tamper::Query => format!("{}{}", s.base, path_and_query.replacen("limit=2", "limit=3", 1)),
        _ => format!("{}{path_and_query}", s.base),
    };
    let body = if tamper == Tamper::Body { body.replace("ns/", "nx/") } else { body.to_owned() };
    h.remove("host"); // reqwest sets Host itself, to the same value
    Server::read(s.http.request(method, url).headers(h).body(body).send().await.unwrap()).await
}

async fn signed_requests_work_on_every_face(s: Server) {
    let k = key(&s, PROJECT_A).await;
    let list = format!("/v1/{PROJECT_A}/images?limit=2&offset=0");
    let r = signed(&s, &k, PROJECT_A, Method::GET, &list, None, Tamper::None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["total"], 24);
    let body = json!({"swr_path": "swr.example.com/ns/signed:1"}).to_string();
    let reg =
        signed(&s, &k, PROJECT_A, Method::POST, &format!("/v1/{PROJECT_A}/images"), Some(&body), Tamper::None).await;
    assert_eq!(reg.status, 200, "{}", reg.text);
    let id = reg.body["id"].as_str().unwrap();
    let g = signed(&s, &k, PROJECT_A, Method::GET, &format!("/v2/images/{id}"), None, Tamper::None).await;
    assert_eq!((g.status.as_u16(), g.body["owner"].as_str()), (200, Some(PROJECT_A)));
    let sc = signed(&s, &k, PROJECT_A, Method::GET, "/ai/openapi/v2/instance-service/images", None, Tamper::None).await;
    assert_eq!(sc.body["code"], "0", "{}", sc.text);
    assert_eq!(sc.body["data"].as_array().unwrap().len(), 25);
}

async fn bad_signatures_are_refused(s: Server) {
    let k = key(&s, PROJECT_A).await;
    let list = format!("/v1/{PROJECT_A}/images?limit=2&offset=0");
    let body = json!({"swr_path": "swr.example.com/ns/signed:1"}).to_string();
    let reg = format!("/v1/{PROJECT_A}/images");
    for (what, method, path, body, tamper) in [
        ("wrong secret", Method::GET, list.as_str(), None, Tamper::WrongSecret),
        ("tampered query", Method::GET, list.as_str(), None, Tamper::Query),
        ("tampered body", Method::POST, reg.as_str(), Some(body.as_str()), Tamper::Body),
        ("unsigned host", Method::GET, list.as_str(), None, Tamper::UnsignedHost),
        ("16 minutes late", Method::GET, list.as_str(), None, Tamper::DateOff(-16)),
        ("16 minutes early", Method::GET, list.as_str(), None, Tamper::DateOff(16)),
    ] {
        let r = signed(&s, &k, PROJECT_A, method, path, body, tamper).await;
        assert_eq!(r.status, 401, "{what}: {}", r.text);
        assert_eq!(r.body["error_code"], "APIGW.0301", "{what}");
        assert!(r.body["error_msg"].as_str().unwrap().contains("server time"), "{what}: {}", r.text);
    }
    // A signed body over the limit is a clear 413, not a signature failure.
    let big = json!({"swr_path": "swr.example.com/ns/big:1", "description": "x".repeat(70_000)}).to_string();
    let r = signed(&s, &k, PROJECT_A, Method::POST, &reg, Some(&big), Tamper::None).await;
    assert_eq!((r.status.as_u16(), r.body["error_code"].as_str()), (413, Some("ModelArts.0104")), "{}", r.text);
    // Nothing was registered by the tampered POST.
    let ok =
        signed(&s, &k, PROJECT_A, Method::GET, &format!("/v1/{PROJECT_A}/images?type=DEDICATED"), None, Tamper::None)
            .await;
    assert_eq!(ok.body["total"], 0);
    // Project A's key on project B's path: 403; naming B in X-Project-Id: 403 too.
    let r = signed(&s, &k, PROJECT_A, Method::GET, &format!("/v1/{PROJECT_B}/images"), None, Tamper::None).await;
    assert_eq!((r.status.as_u16(), r.body["error_code"].as_str()), (403, Some("ModelArts.0210")));
    let r = signed(&s, &k, PROJECT_B, Method::GET, &format!("/v1/{PROJECT_B}/images"), None, Tamper::None).await;
    assert_eq!((r.status.as_u16(), r.body["error_code"].as_str()), (403, Some("ModelArts.0210")), "{}", r.text);
    // A revoked key stops working at once; an unknown one never worked.
    assert!(s.catalog.revoke_access_key(&k.ak).await.unwrap());
    let r = signed(&s, &k, PROJECT_A, Method::GET, &list, None, Tamper::None).await;
    assert_eq!((r.status.as_u16(), r.body["error_code"].as_str()), (401, Some("APIGW.0301")));
    let ghost = Key { ak: "NOSUCHKEY00000000000".into(), sk: "x".into() };
    let r = signed(&s, &ghost, PROJECT_A, Method::GET, &list, None, Tamper::None).await;
    assert_eq!((r.status.as_u16(), r.body["error_code"].as_str()), (401, Some("APIGW.0301")));
    // The Glance face refuses in its own format.
    let r = signed(&s, &ghost, PROJECT_A, Method::GET, "/v2/images", None, Tamper::None).await;
    assert_eq!(r.status, 401);
    assert!(r.text.contains("401 Unauthorized"));
    // A malformed Authorization header.
    let r = s.raw(Method::GET, &list, None, &[("Authorization", "SDK-HMAC-SHA256 nonsense")], None).await;
    assert_eq!((r.status.as_u16(), r.body["error_code"].as_str()), (401, Some("APIGW.0301")));
}

fn scnet_login_headers(k: &Key, user: &str, ts: i64, secret: &str) -> Vec<(String, String)> {
    let message = format!(r#"{{"accessKey":"{}","timestamp":"{ts}","user":"{user}"}}"#, k.ak);
    let sig = hex(&hmac_sha256(secret.as_bytes(), message.as_bytes()));
    vec![
        ("user".into(), user.into()),
        ("accessKey".into(), k.ak.clone()),
        ("timestamp".into(), ts.to_string()),
        ("signature".into(), sig),
    ]
}

async fn login(s: &Server, headers: &[(String, String)]) -> Resp {
    let mut req = s.http.post(format!("{}/api/user/v3/tokens", s.base));
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    Server::read(req.send().await.unwrap()).await
}

async fn scnet_access_key_login(s: Server) {
    let k = key(&s, PROJECT_A).await;
    let now = Millis::now().0 / 1000;
    let r = login(&s, &scnet_login_headers(&k, "alice", now, &k.sk)).await;
    assert_eq!(r.body["code"], "0", "{}", r.text);
    let entry = &r.body["data"][0];
    assert!(entry["clusterId"].is_string() && entry["clusterName"].is_string());
    let token = entry["token"].as_str().unwrap().to_owned();
    let state = Server::read(
        s.http.get(format!("{}/ac/openapi/v2/tokens/state", s.base)).header("token", &token).send().await.unwrap(),
    )
    .await;
    assert_eq!(state.body, json!({"code": "0", "msg": "success", "data": "token is valid"}));
    let images = Server::read(
        s.http
            .get(format!("{}/ai/openapi/v2/instance-service/images", s.base))
            .header("token", &token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(images.body["code"], "0");
    // Refusals.
    for (what, headers, code) in [
        ("wrong secret", scnet_login_headers(&k, "alice", now, "wrong"), "10009"),
        ("20 minutes old", scnet_login_headers(&k, "alice", now - 1200, &k.sk), "10009"),
        (
            "signature for another user",
            {
                let mut h = scnet_login_headers(&k, "alice", now, &k.sk);
                h[0].1 = "mallory".into();
                h
            },
            "10009",
        ),
        ("missing signature", scnet_login_headers(&k, "alice", now, &k.sk)[..3].to_vec(), "10003"),
    ] {
        let r = login(&s, &headers).await;
        assert_eq!(r.body["code"], code, "{what}: {}", r.text);
        assert!(r.body["data"].is_null());
    }
    // Tokens expire: 10008, which SCNet clients read as "log in again".
    let caller = s.catalog.authenticate_token(&token).await.unwrap();
    let (short, _) = s.catalog.issue_token(&caller, 1, None).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    for path in ["/ac/openapi/v2/tokens/state", "/ai/openapi/v2/instance-service/images"] {
        let r =
            Server::read(s.http.get(format!("{}{path}", s.base)).header("token", &short).send().await.unwrap()).await;
        assert_eq!((r.status.as_u16(), r.body["code"].as_str()), (401, Some("10008")), "{path}: {}", r.text);
    }
    let r = s.get(&format!("/v1/{PROJECT_A}/images"), &short).await;
    assert_eq!((r.status.as_u16(), r.body["error_code"].as_str()), (401, Some("ModelArts.0203")));
    assert_eq!(s.get("/v2/images", &short).await.status, 401, "the Glance face refuses it too");
}

both_backends!(signed_requests_work_on_every_face, bad_signatures_are_refused, scnet_access_key_login);
