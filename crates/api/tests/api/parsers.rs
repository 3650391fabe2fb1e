//! Every parser fed arbitrary input through the real router (in process, no socket): a
//! time filter, a sort, a marker, list parameters, a JSON patch, a signature, an SCNet
//! body. Whatever a client sends, the answer is never a 5xx (SCNet: never its
//! internal-error code 10001), so a parser neither panics nor lets garbage through to a
//! failure deeper down.

use axum::body::Body;
use axum::http::Request;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use proptest::prelude::*;
use serde_json::json;
use tower::ServiceExt;

use crate::common::{PROJECT_A, Server};

/// A server on SQLite and a member token of project A, with one shared image, on a
/// runtime that keeps running between cases.
struct Fixture {
    rt: tokio::runtime::Runtime,
    server: Server,
    token: String,
    image: String,
}

fn fixture() -> Fixture {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (server, token, image) = rt.block_on(async {
        let s = Server::sqlite().await;
        let t = s.token(PROJECT_A, "member").await;
        let r = s.call(
            reqwest::Method::POST,
            "/v2/images",
            Some(&t),
            Some(json!({"name": "target", "visibility": "shared", "container_format": "bare", "disk_format": "raw"})),
        );
        let id = r.await.body["id"].as_str().unwrap().to_owned();
        (s, t, id)
    });
    Fixture { rt, server, token, image }
}

/// Percent-encodes a query value.
fn q(v: &str) -> String {
    utf8_percent_encode(v, NON_ALPHANUMERIC).to_string()
}

impl Fixture {
    /// The answer's status and body to `method path` with `headers` and `body`.
    fn answer(&self, method: &str, path: &str, headers: &[(&str, String)], body: String) -> (u16, String) {
        let mut req = Request::builder().method(method).uri(path).header("X-Auth-Token", &self.token);
        for (k, v) in headers {
            req = req.header(*k, v.as_str());
        }
        let req = req.body(Body::from(body)).unwrap();
        self.rt.block_on(async {
            let resp = self.server.app.clone().oneshot(req).await.unwrap();
            let status = resp.status().as_u16();
            let bytes = axum::body::to_bytes(resp.into_body(), 1 << 22).await.unwrap();
            (status, String::from_utf8_lossy(&bytes).into_owned())
        })
    }

    fn check(&self, method: &str, path: &str, headers: &[(&str, String)], body: String) -> Result<(), TestCaseError> {
        let (status, text) = self.answer(method, path, headers, body);
        prop_assert!(status < 500, "{method} {path}: {status} {text}");
        prop_assert!(!text.contains("\"code\":\"10001\""), "{method} {path}: an internal error: {text}");
        Ok(())
    }
}

/// Short text of any printable characters, and the words each parser knows, mixed.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,24}",
        "[a-z_:,. -]{0,24}",
        prop::sample::select(vec![
            "asc",
            "desc",
            "name",
            "size",
            "created_at",
            "-1",
            "0",
            "1001",
            "99999999999999999999"
        ])
        .prop_map(str::to_owned),
    ]
}

/// JSON values of any shape, a few levels deep.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "\\PC{0,12}".prop_map(serde_json::Value::from),
        prop::sample::select(vec!["add", "replace", "remove", "/name", "/tags", "/tags/-", "/~2", "public"])
            .prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "op", "path", "value", "replace", "add", "access", "limit", "start", "sort", "orderBy", "name"
                ])
                .prop_map(str::to_owned),
                inner,
                0..4
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A body: JSON of any shape, or any text.
fn body() -> impl Strategy<Value = String> {
    prop_oneof![json_value().prop_map(|v| v.to_string()), "\\PC{0,40}"]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn glance_list_parameters(
        op in prop::sample::select(vec!["gt:", "gte:", "lt:", "lte:", "eq:", "neq:", "xx:", "", "in:"]),
        name in prop::sample::select(vec![
            "created_at", "updated_at", "sort", "sort_key", "sort_dir", "marker", "limit", "status", "visibility",
            "member_status", "size_min", "protected", "os_hidden", "owner", "id", "name", "__imagetype", "tag",
        ]),
        value in text(),
    ) {
        let f = fixture_once();
        f.check("GET", &format!("/v2/images?{name}={}{}", q(op), q(&value)), &[], String::new())?;
    }

    #[test]
    fn modelarts_list_parameters(
        name in prop::sample::select(vec![
            "limit", "offset", "sort_key", "sort_dir", "type", "name", "name_fuzzy_match", "arch", "service_type",
            "workspace_id", "namespace",
        ]),
        value in text(),
        groups in any::<bool>(),
    ) {
        let f = fixture_once();
        let route = if groups { "images/group" } else { "images" };
        f.check("GET", &format!("/v1/{PROJECT_A}/{route}?{name}={}", q(&value)), &[], String::new())?;
    }

    #[test]
    fn glance_json_patches(body in body(), v20 in any::<bool>()) {
        let f = fixture_once();
        let ct = if v20 { "application/openstack-images-v2.0-json-patch" } else { "application/openstack-images-v2.1-json-patch" };
        f.check("PATCH", &format!("/v2/images/{}", f.image), &[("Content-Type", ct.to_owned())], body)?;
    }

    #[test]
    fn signatures(authorization in "[ -~]{0,60}", date in "[ -~]{0,20}", signed in any::<bool>()) {
        let f = fixture_once();
        let value = if signed { format!("SDK-HMAC-SHA256 {authorization}") } else { authorization };
        let headers = [("Authorization", value), ("X-Sdk-Date", date), ("Content-Type", "application/json".into())];
        f.check("POST", &format!("/v1/{PROJECT_A}/images"), &headers, r#"{"swr_path":"swr.example.com/a/b:c"}"#.into())?;
    }

    #[test]
    fn scnet_requests(body in body(), accelerator in text()) {
        let f = fixture_once();
        let json = [("Content-Type", "application/json".to_owned())];
        f.check("POST", "/ai/openapi/v2/image/images", &json, body.clone())?;
        f.check("GET", &format!("/ai/openapi/v2/instance-service/images?acceleratorType={}", q(&accelerator)), &json, body)?;
    }
}

/// One fixture per test binary: building a server per case would dominate the run.
fn fixture_once() -> &'static Fixture {
    static FIXTURE: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
    FIXTURE.get_or_init(fixture)
}
