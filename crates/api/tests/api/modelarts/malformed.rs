//! Bad input gets a clear 4xx in the ModelArts envelope: never a 500, never a panic, never a partial write.

use reqwest::Method;
use serde_json::json;

use crate::common::{PROJECT_A, PROJECT_B, Server, assert_error};

enum Body {
    None,
    Json(serde_json::Value),
    Raw(&'static str, Vec<u8>),
}

struct Case {
    what: &'static str,
    method: Method,
    path: String,
    token: Option<String>,
    body: Body,
    status: u16,
    code: &'static str,
}

async fn malformed_requests_get_4xx_in_the_modelarts_envelope(s: Server) {
    let t = s.token(PROJECT_A, "member").await;
    let group = s.register(PROJECT_A, &t, "swr.example.com/ns/existing:1", json!({})).await;
    let gid = s.get(&format!("/v1/{PROJECT_A}/images/group?name=existing"), &t).await.body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(group["id"].is_string());
    let list = format!("/v1/{PROJECT_A}/images");
    let get = |what, q: &str, status, code| Case {
        what,
        method: Method::GET,
        path: format!("{list}{q}"),
        token: Some(t.clone()),
        body: Body::None,
        status,
        code,
    };
    let post = |what, body, status, code| Case {
        what,
        method: Method::POST,
        path: list.clone(),
        token: Some(t.clone()),
        body,
        status,
        code,
    };
    let long = "x".repeat(513);
    let cases = vec![
        get("non-numeric limit", "?limit=abc", 400, "ModelArts.0101"),
        get("negative limit", "?limit=-1", 400, "ModelArts.0101"),
        get("zero limit", "?limit=0", 400, "ModelArts.0101"),
        get("limit over the cap", "?limit=1001", 400, "ModelArts.0101"),
        get("negative offset", "?offset=-5", 400, "ModelArts.0101"),
        get("fractional offset", "?offset=1.5", 400, "ModelArts.0101"),
        get("unknown sort key", "?sort_key=bogus", 400, "ModelArts.6303"),
        get("empty sort key in a list", "?sort_key=create_at,", 400, "ModelArts.6303"),
        get("unknown sort dir", "?sort_dir=UP", 400, "ModelArts.0101"),
        get("unknown type", "?type=PRIVATE", 400, "ModelArts.0101"),
        get("unknown service type", "?service_type=FOO", 400, "ModelArts.0101"),
        get("non-boolean fuzzy flag", "?name_fuzzy_match=yes", 400, "ModelArts.0101"),
        get("name with forbidden characters", "?name=Bad%20Name!", 400, "ModelArts.0101"),
        get("unknown arch", "?arch=mips", 400, "ModelArts.0101"),
        get("repeated parameter", "?limit=1&limit=2", 400, "ModelArts.0101"),
        get("bad UTF-8 in the query", "?name=%FF", 400, "ModelArts.0101"),
        get("group list: unknown sort key", "/group?sort_key=size", 400, "ModelArts.6303"),
        post("bad JSON", Body::Raw("application/json", b"{".to_vec()), 400, "ModelArts.0104"),
        post("JSON of the wrong type", Body::Json(json!({"swr_path": 5})), 400, "ModelArts.0101"),
        post("JSON array body", Body::Json(json!([])), 400, "ModelArts.0101"),
        post("missing swr_path", Body::Json(json!({})), 400, "ModelArts.0101"),
        post("no body", Body::None, 400, "ModelArts.0104"),
        post("wrong content type", Body::Raw("text/plain", b"swr_path=x".to_vec()), 415, "ModelArts.0104"),
        post(
            "form content type",
            Body::Raw("application/x-www-form-urlencoded", b"a=b".to_vec()),
            415,
            "ModelArts.0104",
        ),
        post("oversize body", Body::Json(json!({"swr_path": "x".repeat(70_000)})), 413, "ModelArts.0104"),
        post(
            "bad UTF-8 in the body",
            Body::Raw("application/json", b"{\"swr_path\": \"\xff\xfe\"}".to_vec()),
            400,
            "ModelArts.0104",
        ),
        post("swr_path without tag", Body::Json(json!({"swr_path": "swr.example.com/ns/name"})), 400, "ModelArts.0101"),
        post("swr_path too short", Body::Json(json!({"swr_path": "a/b/c:d"})), 400, "ModelArts.0101"),
        post(
            "unknown arch in body",
            Body::Json(json!({"swr_path": "swr.example.com/ns/n:1", "arch": "mips"})),
            400,
            "ModelArts.0101",
        ),
        post(
            "unknown visibility",
            Body::Json(json!({"swr_path": "swr.example.com/ns/n:1", "visibility": "SHARED"})),
            400,
            "ModelArts.0101",
        ),
        post(
            "unknown service",
            Body::Json(json!({"swr_path": "swr.example.com/ns/n:1", "services": ["FTP"]})),
            400,
            "ModelArts.0101",
        ),
        post(
            "21 tags",
            Body::Json(
                json!({"swr_path": "swr.example.com/ns/n:1", "tags": (0..21).map(|i| format!("k{i}")).collect::<Vec<_>>()}),
            ),
            400,
            "ModelArts.0101",
        ),
        post(
            "description over 512",
            Body::Json(json!({"swr_path": "swr.example.com/ns/n:1", "description": long})),
            400,
            "ModelArts.0101",
        ),
        Case {
            what: "bad UTF-8 in the path",
            method: Method::GET,
            path: "/v1/%FF%FE/images".into(),
            token: Some(t.clone()),
            body: Body::None,
            status: 400,
            code: "ModelArts.0101",
        },
        Case {
            what: "malformed project id",
            method: Method::GET,
            path: "/v1/xyz/images".into(),
            token: Some(t.clone()),
            body: Body::None,
            status: 400,
            code: "ModelArts.0101",
        },
        Case {
            what: "missing token",
            method: Method::GET,
            path: list.clone(),
            token: None,
            body: Body::None,
            status: 401,
            code: "ModelArts.0205",
        },
        Case {
            what: "unknown token",
            method: Method::GET,
            path: list.clone(),
            token: Some("ih_nope".into()),
            body: Body::None,
            status: 401,
            code: "ModelArts.0203",
        },
        Case {
            what: "another project's path",
            method: Method::GET,
            path: format!("/v1/{PROJECT_B}/images"),
            token: Some(t.clone()),
            body: Body::None,
            status: 403,
            code: "ModelArts.0210",
        },
        Case {
            what: "image id not a UUID",
            method: Method::GET,
            path: format!("{list}/not-a-uuid"),
            token: Some(t.clone()),
            body: Body::None,
            status: 400,
            code: "ModelArts.0101",
        },
        Case {
            what: "unknown image",
            method: Method::GET,
            path: format!("{list}/00000000-0000-4000-8000-000000000000"),
            token: Some(t.clone()),
            body: Body::None,
            status: 404,
            code: "ModelArts.6797",
        },
        Case {
            what: "method not allowed",
            method: Method::PATCH,
            path: format!("{list}/00000000-0000-4000-8000-000000000000"),
            token: Some(t.clone()),
            body: Body::None,
            status: 405,
            code: "ModelArts.0405",
        },
        Case {
            what: "unknown route",
            method: Method::GET,
            path: format!("/v1/{PROJECT_A}/imagez"),
            token: Some(t.clone()),
            body: Body::None,
            status: 404,
            code: "ModelArts.0404",
        },
        Case {
            what: "group update: tags not a list",
            method: Method::PUT,
            path: format!("{list}/group/{gid}"),
            token: Some(t.clone()),
            body: Body::Json(json!({"tags": "a"})),
            status: 400,
            code: "ModelArts.0101",
        },
        Case {
            what: "group update: read_me too long",
            method: Method::PUT,
            path: format!("{list}/group/{gid}"),
            token: Some(t.clone()),
            body: Body::Json(json!({"read_me": "x".repeat(30_001)})),
            status: 400,
            code: "ModelArts.0101",
        },
        Case {
            what: "group update: no body",
            method: Method::PUT,
            path: format!("{list}/group/{gid}"),
            token: Some(t.clone()),
            body: Body::None,
            status: 400,
            code: "ModelArts.0104",
        },
        Case {
            what: "delete: body not JSON",
            method: Method::DELETE,
            path: format!("{list}/{}", group["id"].as_str().unwrap()),
            token: Some(t.clone()),
            body: Body::Raw("application/json", b"nope".to_vec()),
            status: 400,
            code: "ModelArts.0104",
        },
    ];
    assert!(cases.len() >= 20);
    for c in cases {
        let mut req = s.http.request(c.method.clone(), format!("{}{}", s.base, c.path));
        if let Some(tok) = &c.token {
            req = req.header("X-Auth-Token", tok);
        }
        req = match c.body {
            Body::None => req,
            Body::Json(v) => req.json(&v),
            Body::Raw(ct, bytes) => req.header("Content-Type", ct).body(bytes),
        };
        let r = Server::read(req.send().await.unwrap()).await;
        assert!(r.status.is_client_error(), "{}: status {} {}", c.what, r.status, r.text);
        assert_error(&r, c.status, c.code);
        if c.status == 405 {
            assert!(r.headers.contains_key("allow"), "{}: no Allow header", c.what);
        }
    }
    // The largest offset is an empty page, on both lists (its page number does not overflow).
    for path in ["", "/group"] {
        let r = s.get(&format!("{list}{path}?offset={}&limit=1", u64::MAX), &t).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        assert_eq!(r.body["data"], json!([]), "{path}");
    }
    // None of the rejected writes left anything behind.
    let mine = s.get(&format!("{list}?type=DEDICATED"), &t).await;
    assert_eq!(mine.body["total"], 1, "{}", mine.text);
    let groups = s.get(&format!("{list}/group?name=existing"), &t).await;
    assert!(groups.body["data"][0].get("read_me").is_none());
}

both_backends!(malformed_requests_get_4xx_in_the_modelarts_envelope,);
