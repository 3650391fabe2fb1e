//! SCNet's codes for every error path.

use reqwest::Method;
use serde_json::Value;

use super::{IMAGES, LIST};
use crate::common::{PROJECT_A, Server};

async fn errors_use_the_scnet_codes(s: Server) {
    let token = s.token(PROJECT_A, "member").await;
    let send = |method: Method, path: &'static str, tok: Option<&str>, ct: Option<&str>, body: Option<&str>| {
        let s = &s;
        let (tok, ct, body) = (tok.map(str::to_owned), ct.map(str::to_owned), body.map(str::to_owned));
        async move {
            let mut req = s.http.request(method, format!("{}{path}", s.base));
            if let Some(t) = tok {
                req = req.header("token", t);
            }
            if let Some(c) = ct {
                req = req.header("Content-Type", c);
            }
            if let Some(b) = body {
                req = req.body(b);
            }
            Server::read(req.send().await.unwrap()).await
        }
    };
    let t = Some(token.as_str());
    let json_ct = Some("application/json");
    let valid = r#"{"access":"private","orderBy":"create_time","sort":"DESC","start":0,"limit":10}"#;
    let cases: Vec<(&str, crate::common::Resp, u16, &str)> = vec![
        ("missing token", send(Method::GET, IMAGES, None, None, None).await, 401, "10009"),
        ("unknown token", send(Method::GET, IMAGES, Some("nope-not-a-token"), None, None).await, 401, "10009"),
        ("GET body not JSON", send(Method::GET, IMAGES, t, json_ct, Some("{acceleratorType: dcu")).await, 200, "10004"),
        (
            "GET body wrong type",
            send(Method::GET, IMAGES, t, json_ct, Some(r#"{"acceleratorType": 5}"#)).await,
            200,
            "10004",
        ),
        (
            "bad acceleratorType",
            send(Method::GET, "/ai/openapi/v2/instance-service/images?acceleratorType=d%20cu", t, None, None).await,
            200,
            "10004",
        ),
        ("POST without body", send(Method::POST, LIST, t, json_ct, None).await, 200, "10004"),
        (
            "POST missing access",
            send(
                Method::POST,
                LIST,
                t,
                json_ct,
                Some(r#"{"orderBy":"create_time","sort":"DESC","start":0,"limit":10}"#),
            )
            .await,
            200,
            "10003",
        ),
        (
            "POST missing limit",
            send(
                Method::POST,
                LIST,
                t,
                json_ct,
                Some(r#"{"access":"public","orderBy":"create_time","sort":"DESC","start":0}"#),
            )
            .await,
            200,
            "10003",
        ),
        (
            "POST bad access",
            send(Method::POST, LIST, t, json_ct, Some(&valid.replace("private", "shared"))).await,
            200,
            "10004",
        ),
        (
            "POST bad orderBy",
            send(Method::POST, LIST, t, json_ct, Some(&valid.replace("create_time", "size"))).await,
            200,
            "10004",
        ),
        (
            "POST bad sort",
            send(Method::POST, LIST, t, json_ct, Some(&valid.replace("DESC", "DOWN"))).await,
            200,
            "10004",
        ),
        (
            "POST limit 0",
            send(Method::POST, LIST, t, json_ct, Some(&valid.replace("\"limit\":10", "\"limit\":0"))).await,
            200,
            "10004",
        ),
        (
            "POST negative start",
            send(Method::POST, LIST, t, json_ct, Some(&valid.replace("\"start\":0", "\"start\":-1"))).await,
            200,
            "10004",
        ),
        ("POST text body", send(Method::POST, LIST, t, Some("text/plain"), Some("hello")).await, 200, "10004"),
        ("unknown route", send(Method::GET, "/ai/openapi/v2/nope", t, None, None).await, 404, "10009"),
    ];
    for (what, r, status, code) in cases {
        assert_eq!(r.status.as_u16(), status, "{what}: {}", r.text);
        assert_eq!(r.body["code"], code, "{what}: {}", r.text);
        assert!(r.body["msg"].as_str().is_some_and(|m| !m.is_empty()), "{what}");
        assert!(r.body.get("data").is_some_and(Value::is_null), "{what}: {}", r.text);
    }
    let ok = send(Method::POST, LIST, t, json_ct, Some(valid)).await;
    assert_eq!(ok.body["code"], "0", "{}", ok.text);
}

both_backends!(errors_use_the_scnet_codes,);
