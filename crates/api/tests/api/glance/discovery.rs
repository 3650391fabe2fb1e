//! `/`, `/versions`, `/v2`, the schemas, and the request id every Glance answer carries.

use reqwest::Method;
use serde_json::json;

use super::{JSON, assert_glance_error};
use crate::common::Server;

async fn discovery_and_schemas(s: Server) {
    let root = s.raw(Method::GET, "/", None, &[], None).await;
    assert_eq!(root.status, 300);
    assert_eq!(root.body["versions"][0]["id"], "v2.7");
    assert_eq!(root.body["versions"][0]["status"], "CURRENT");
    assert!(root.body["versions"][0]["links"][0]["href"].as_str().unwrap().ends_with("/v2/"));
    for path in ["/versions", "/v2", "/v2/"] {
        let r = s.raw(Method::GET, path, None, &[], None).await;
        assert_eq!((r.status.as_u16(), &r.body), (200, &root.body), "{path}");
    }
    // A path no face claims is a plain JSON 404 that says what is served, not the versions
    // document (which would read like a version-negotiation problem).
    for path in ["/v4/images", "/nothing", "/v2x", "/identity"] {
        let r = s.raw(Method::GET, path, None, &[], None).await;
        assert_eq!(r.status, 404, "{path}: {}", r.text);
        assert_eq!(r.body["error"]["code"], 404, "{path}");
        let msg = r.body["error"]["message"].as_str().unwrap();
        assert!(msg.contains(path) && msg.contains("/v2/images"), "{path}: {msg}");
        assert!(r.headers.contains_key("x-request-id"), "{path}");
    }
    // Under /v3 the identity face answers, in Keystone's envelope.
    let r = s.raw(Method::GET, "/v3/images", None, &[], None).await;
    assert_eq!((r.status.as_u16(), &r.body["error"]["message"]), (404, &json!("The resource could not be found.")));
    let schema = s.raw(Method::GET, "/v2/schemas/image", None, &[], None).await;
    assert_eq!(schema.body["name"], "image");
    assert_eq!(schema.body["additionalProperties"]["type"], "string");
    assert_eq!(schema.body["properties"]["os_distro"]["is_base"], false);
    assert!(!schema.text.contains("\"default\""), "warlock copies defaults into requests");
    for (path, name) in
        [("/v2/schemas/images", "images"), ("/v2/schemas/member", "member"), ("/v2/schemas/members", "members")]
    {
        assert_eq!(s.raw(Method::GET, path, None, &[], None).await.body["name"], name);
    }
    assert_glance_error(&s.raw(Method::GET, "/v2/nothing", None, &[JSON], None).await, 404, "could not be found");
}

both_backends!(discovery_and_schemas,);
