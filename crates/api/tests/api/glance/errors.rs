//! Glance error bodies in webob's three variants, by `Accept`.

use reqwest::Method;

use super::JSON;
use crate::common::{PROJECT_A, Server};

async fn error_bodies_follow_accept(s: Server) {
    let t = s.token(PROJECT_A, "member").await;
    let path = "/v2/images/00000000-0000-4000-8000-000000000000";
    let html = s.raw(Method::GET, path, Some(&t), &[("Accept", "*/*")], None).await;
    assert!(html.headers["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(html.text.contains("<title>404 Not Found</title>") && html.text.contains("<h1>404 Not Found</h1>"));
    let json = s.raw(Method::GET, path, Some(&t), &[JSON], None).await;
    assert_eq!(json.body["code"], "404 Not Found");
    assert_eq!(json.body["title"], "Not Found");
    assert!(json.body["message"].as_str().unwrap().starts_with("No image found with ID"));
    let plain = s.raw(Method::GET, path, Some(&t), &[("Accept", "")], None).await;
    assert!(plain.headers["content-type"].to_str().unwrap().starts_with("text/plain"));
    assert!(plain.text.starts_with("404 Not Found\n\nNo image found with ID"));
    let unauth = s.raw(Method::GET, "/v2/images", None, &[JSON], None).await;
    assert_eq!(unauth.status, 401);
    assert_eq!(unauth.body["code"], "401 Unauthorized");
    // The client's own request id is echoed.
    let echoed = s.raw(Method::GET, "/v2/images", Some(&t), &[("X-Openstack-Request-ID", "req-1234-abcd")], None).await;
    assert_eq!(echoed.headers["x-openstack-request-id"], "req-1234-abcd");
}

both_backends!(error_bodies_follow_accept,);
