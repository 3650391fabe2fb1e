//! Requests signed with an access key (`SDK-HMAC-SHA256`, what the official Huawei SDKs send), on every face.

use imagehub_catalog::{Millis, ProjectId, Role};
use reqwest::Method;
use serde_json::json;

use crate::common::{PROJECT_A, PROJECT_B, Resp, Server};
use imagehub_api::signing::{canonical_query, canonical_request, canonical_uri, sdk_date, string_to_sign};
use imagehub_catalog::secrets::{hex, hmac_sha256};
use reqwest::header::{HeaderMap, HeaderValue};

pub(crate) struct Key {
    pub(crate) ak: String,
    pub(crate) sk: String,
}

pub(crate) async fn key(s: &Server, project: &str) -> Key {
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
    /// The captured request resent with another body, and the first body's hash in an
    /// added (unsigned) `X-Sdk-Content-Sha256`.
    ReplayWithDeclaredHash,
    /// `X-Sdk-Content-Sha256` signed, naming the first body's hash; another body sent.
    SignedHashOtherBody,
    /// `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` signed, with a JSON body.
    UnsignedPayloadJson,
}

/// A canonical request as a client writes it, with `payload` as the payload hash.
fn client_canonical(
    method: &Method,
    path: &str,
    query: &str,
    h: &HeaderMap,
    signed: &[String],
    payload: &str,
) -> String {
    let headers: String = signed.iter().map(|n| format!("{n}:{}\n", h[n.as_str()].to_str().unwrap().trim())).collect();
    format!("{method}\n{}\n{}\n{headers}\n{}\n{payload}", canonical_uri(path), canonical_query(query), signed.join(";"))
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
    let mut signed_headers: Vec<String> = if tamper == Tamper::UnsignedHost {
        vec!["content-type".into(), "x-project-id".into(), "x-sdk-date".into()]
    } else {
        vec!["content-type".into(), "host".into(), "x-project-id".into(), "x-sdk-date".into()]
    };
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let body = body.unwrap_or("");
    let body_hash = hex(&<sha2::Sha256 as sha2::Digest>::digest(body.as_bytes()));
    match tamper {
        Tamper::SignedHashOtherBody => {
            h.insert("x-sdk-content-sha256", HeaderValue::from_str(&body_hash).unwrap());
            signed_headers.push("x-sdk-content-sha256".into());
        }
        Tamper::UnsignedPayloadJson => {
            h.insert("x-sdk-content-sha256", HeaderValue::from_static("UNSIGNED-PAYLOAD"));
            signed_headers.push("x-sdk-content-sha256".into());
        }
        _ => {}
    }
    signed_headers.sort();
    let canonical = match tamper {
        // What a client that does not follow the rules signs (the server's own canonical
        // request refuses it).
        Tamper::UnsignedPayloadJson => client_canonical(&method, path, query, &h, &signed_headers, "UNSIGNED-PAYLOAD"),
        _ => canonical_request(method.as_str(), path, query, &h, &signed_headers, body.as_bytes()).unwrap(),
    };
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
    if tamper == Tamper::ReplayWithDeclaredHash {
        h.insert("x-sdk-content-sha256", HeaderValue::from_str(&body_hash).unwrap());
    }
    let other_body = matches!(tamper, Tamper::Body | Tamper::ReplayWithDeclaredHash | Tamper::SignedHashOtherBody);
    let body = if other_body { body.replace("ns/", "nx/") } else { body.to_owned() };
    h.remove("host"); // reqwest sets Host itself, to the same value
    Server::read(s.http.request(method, url).headers(h).body(body).send().await.unwrap()).await
}

/// An image data upload signed as the SDK signs a stream: `UNSIGNED-PAYLOAD`, the
/// content type signed, the body left out of the signature.
async fn signed_upload(s: &Server, k: &Key, image: &str, body: Vec<u8>, secret: &str) -> Resp {
    let host = s.base.trim_start_matches("http://").to_owned();
    let now = Millis::now();
    let mut h = HeaderMap::new();
    h.insert("content-type", HeaderValue::from_static("application/octet-stream"));
    h.insert("host", HeaderValue::from_str(&host).unwrap());
    h.insert("x-project-id", HeaderValue::from_str(PROJECT_A).unwrap());
    h.insert("x-sdk-content-sha256", HeaderValue::from_static("UNSIGNED-PAYLOAD"));
    h.insert("x-sdk-date", HeaderValue::from_str(&sdk_date(now)).unwrap());
    let signed_headers: Vec<String> =
        ["content-type", "host", "x-project-id", "x-sdk-content-sha256", "x-sdk-date"].map(String::from).to_vec();
    let path = format!("/v2/images/{image}/file");
    let canonical = client_canonical(&Method::PUT, &path, "", &h, &signed_headers, "UNSIGNED-PAYLOAD");
    let sig = hex(&hmac_sha256(secret.as_bytes(), string_to_sign(&sdk_date(now), &canonical).as_bytes()));
    let auth = format!("SDK-HMAC-SHA256 Access={}, SignedHeaders={}, Signature={sig}", k.ak, signed_headers.join(";"));
    h.insert("authorization", HeaderValue::from_str(&auth).unwrap());
    h.remove("host");
    Server::read(s.http.put(format!("{}{path}", s.base)).headers(h).body(body).send().await.unwrap()).await
}

/// Image data signed with `UNSIGNED-PAYLOAD` streams (past the body limit) and is stored;
/// a wrong signature is still refused.
async fn signed_uploads_stream(s: Server) {
    let k = key(&s, PROJECT_A).await;
    let token = s.token(PROJECT_A, "member").await;
    let img = s
        .call(Method::POST, "/v2/images", Some(&token), Some(json!({"disk_format": "raw", "container_format": "bare"})))
        .await;
    let id = img.body["id"].as_str().unwrap().to_owned();
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    let r = signed_upload(&s, &k, &id, data.clone(), "not-the-secret").await;
    assert_eq!(r.status, 401, "{}", r.text);
    let r = signed_upload(&s, &k, &id, data.clone(), &k.sk).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let got = s.http.get(format!("{}/v2/images/{id}/file", s.base)).header("X-Auth-Token", &token).send().await;
    assert_eq!(got.unwrap().bytes().await.unwrap().to_vec(), data);
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
    let mut wrong_secret = serde_json::Value::Null;
    for (what, method, path, body, tamper) in [
        ("wrong secret", Method::GET, list.as_str(), None, Tamper::WrongSecret),
        ("tampered query", Method::GET, list.as_str(), None, Tamper::Query),
        ("tampered body", Method::POST, reg.as_str(), Some(body.as_str()), Tamper::Body),
        ("replayed with another body", Method::POST, reg.as_str(), Some(body.as_str()), Tamper::ReplayWithDeclaredHash),
        ("signed hash, other body", Method::POST, reg.as_str(), Some(body.as_str()), Tamper::SignedHashOtherBody),
        ("unsigned JSON payload", Method::POST, reg.as_str(), Some(body.as_str()), Tamper::UnsignedPayloadJson),
        ("unsigned host", Method::GET, list.as_str(), None, Tamper::UnsignedHost),
        ("16 minutes late", Method::GET, list.as_str(), None, Tamper::DateOff(-16)),
        ("16 minutes early", Method::GET, list.as_str(), None, Tamper::DateOff(16)),
    ] {
        let r = signed(&s, &k, PROJECT_A, method, path, body, tamper).await;
        if tamper == Tamper::WrongSecret {
            wrong_secret = r.body.clone();
        }
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
    let revoked = r.body["error_msg"].clone();
    let ghost = Key { ak: "NOSUCHKEY00000000000".into(), sk: "x".into() };
    let r = signed(&s, &ghost, PROJECT_A, Method::GET, &list, None, Tamper::None).await;
    assert_eq!((r.status.as_u16(), r.body["error_code"].as_str()), (401, Some("APIGW.0301")));
    // Unknown, revoked and wrongly signed read alike: the answer does not tell which keys
    // exist (the server time it ends with may have ticked between the requests).
    let words = |v: &serde_json::Value| v.as_str().unwrap_or("").split("; server time").next().unwrap_or("").to_owned();
    assert_eq!(words(&r.body["error_msg"]), words(&revoked));
    assert_eq!(words(&r.body["error_msg"]), words(&wrong_secret["error_msg"]));
    assert!(words(&revoked).contains("the access key or the signature is not valid"), "{revoked}");
    // The Glance face refuses in its own format.
    let r = signed(&s, &ghost, PROJECT_A, Method::GET, "/v2/images", None, Tamper::None).await;
    assert_eq!(r.status, 401);
    assert!(r.text.contains("401 Unauthorized"));
    // A malformed Authorization header.
    let r = s.raw(Method::GET, &list, None, &[("Authorization", "SDK-HMAC-SHA256 nonsense")], None).await;
    assert_eq!((r.status.as_u16(), r.body["error_code"].as_str()), (401, Some("APIGW.0301")));
}

both_backends!(signed_uploads_stream, signed_requests_work_on_every_face, bad_signatures_are_refused,);
