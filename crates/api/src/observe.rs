//! Request ids and the one log line per request, at `info` (errors are logged here, once:
//! a refusal at `info` with its reason, a server error at `error`).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;

use crate::face::LoggedError;

/// Adds `X-Request-Id` (32 hex digits) to every response and logs the request.
///
/// A request that may write (any method but GET, HEAD and OPTIONS) runs in its own task,
/// to completion even if the client goes away: cut short, it could leave a committed
/// write not yet applied to the read index. A GET, HEAD or OPTIONS request runs in the
/// connection's task: it writes nothing, and if the client goes away mid-way, what it
/// dropped is harmless (a read transaction is rolled back when dropped, and a catch-up
/// with the change feed records its progress only after applying it). A task per request
/// cost a list a seventh of its throughput at a million images. Either way, a handler that
/// panics is answered as an internal error in its face's envelope and logged.
pub async fn observe(req: Request, next: Next) -> Response {
    let id = request_id();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let started = Instant::now();
    let handled = if matches!(method, Method::GET | Method::HEAD | Method::OPTIONS) {
        CatchUnwind(Box::pin(next.run(req))).await.map_err(|panic| {
            panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into())
        })
    } else {
        tokio::spawn(next.run(req)).await.map_err(|e| e.to_string())
    };
    // A panic is answered as an internal error in the face's envelope, and logged below.
    let mut resp = handled.unwrap_or_else(|e| {
        crate::error_for_path(&path, imagehub_catalog::Error::Internal(format!("the request handler panicked: {e}")))
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    let status = resp.status().as_u16();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    match resp.extensions().get::<LoggedError>() {
        Some(LoggedError(e)) if e.is_server_error() => {
            tracing::error!(request_id = %id, %method, %path, status, ms, error = %e.log_detail(), "request failed")
        }
        Some(LoggedError(e)) => {
            tracing::info!(request_id = %id, %method, %path, status, ms, error = %e.log_detail(), "request refused")
        }
        None => tracing::info!(request_id = %id, %method, %path, status, ms, "request"),
    }
    resp
}

/// A future whose panic becomes its output (`Err`), as a task's would.
struct CatchUnwind<F>(std::pin::Pin<Box<F>>);

impl<F: std::future::Future> std::future::Future for CatchUnwind<F> {
    type Output = std::thread::Result<F::Output>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        let inner = self.get_mut().0.as_mut();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Ok(std::task::Poll::Ready(v)) => std::task::Poll::Ready(Ok(v)),
            Err(panic) => std::task::Poll::Ready(Err(panic)),
        }
    }
}

/// A new request id: a version-4 UUID in 32 hex digits. The first half is random once per
/// process, the second is a counter through a bijective mix of 62 bits, so no two requests
/// of a process share an id and ids of different processes differ with the first half.
/// (Drawing 16 bytes from the operating system per request was 2% of a list request's CPU.)
fn request_id() -> String {
    static PROCESS: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    // std's RandomState draws its keys from the operating system.
    let process = *PROCESS
        .get_or_init(|| std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), 0u64));
    let high = (process & !0xf000) | 0x4000; // version 4
    let low = (1 << 63) | mix62(NEXT.fetch_add(1, Ordering::Relaxed)); // variant 10
    uuid::Uuid::from_u64_pair(high, low).simple().to_string()
}

/// A bijection of the low 62 bits (odd multipliers and right xor-shifts are each
/// invertible modulo 2^62): consecutive counters give unrelated-looking ids.
fn mix62(n: u64) -> u64 {
    const MASK: u64 = (1 << 62) - 1;
    let mut x = n.wrapping_mul(0x9e37_79b9_7f4a_7c15) & MASK;
    x ^= x >> 31;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9) & MASK;
    x ^ (x >> 29)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    fn app(done: Arc<AtomicBool>) -> Router {
        let slow = move || {
            let done = done.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                done.store(true, Ordering::SeqCst);
                "written"
            }
        };
        Router::new()
            .route("/v1/p/panic", get(boom).post(boom))
            .route("/ai/panic", get(boom).post(boom))
            .route("/v2/panic", get(boom).post(boom))
            .route("/slow", axum::routing::post(slow))
            .layer(axum::middleware::from_fn(observe))
            .layer(axum::middleware::from_fn(crate::glance::negotiate))
    }

    async fn boom() -> &'static str {
        panic!("boom")
    }

    fn request(method: Method, path: &str) -> Request {
        Request::builder().method(method).uri(path).body(Body::empty()).unwrap()
    }

    /// A panicking handler is answered 500 with a request id, in the envelope of the
    /// face its path belongs to, whether it ran in the connection's task (GET) or in a
    /// task of its own (POST).
    #[tokio::test]
    async fn a_panicking_handler_is_answered_500() {
        // SCNet answers its errors with HTTP 200 and the code in the envelope.
        let faces = [("/v1/p/panic", 500, "error_code", "ModelArts.0001"), ("/ai/panic", 200, "code", "10001")];
        for method in [Method::GET, Method::POST] {
            for (path, status, key, code) in faces {
                let resp = app(Arc::default()).oneshot(request(method.clone(), path)).await.unwrap();
                assert_eq!(resp.status().as_u16(), status, "{method} {path}");
                assert_eq!(resp.headers()["x-request-id"].len(), 32, "{method} {path}");
                let body = axum::body::to_bytes(resp.into_body(), 1 << 16).await.unwrap();
                let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
                assert_eq!(body[key], code, "{method} {path}: {body}");
            }
            // Glance's error body, rendered as the request's Accept asks.
            let mut req = request(method.clone(), "/v2/panic");
            req.headers_mut().insert("accept", HeaderValue::from_static("application/json"));
            let resp = app(Arc::default()).oneshot(req).await.unwrap();
            assert_eq!(resp.status().as_u16(), 500, "{method} Glance");
            let request_id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
            let openstack_id = resp.headers()["x-openstack-request-id"].to_str().unwrap().replace('-', "");
            assert_eq!(openstack_id, format!("req{request_id}"), "{method} Glance: one request id");
            let body = axum::body::to_bytes(resp.into_body(), 1 << 16).await.unwrap();
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(body["code"], "500 Internal Server Error", "{method} Glance: {body}");
        }
    }

    /// A request that may write runs to its end when the client goes away.
    #[tokio::test]
    async fn a_write_runs_to_completion_when_the_client_goes_away() {
        let done = Arc::new(AtomicBool::new(false));
        let call = app(done.clone()).oneshot(request(Method::POST, "/slow"));
        assert!(tokio::time::timeout(Duration::from_millis(20), call).await.is_err());
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(done.load(Ordering::SeqCst));
    }

    #[test]
    fn request_ids_are_distinct_version_4_uuids() {
        let ids: std::collections::HashSet<String> = (0..10_000).map(|_| request_id()).collect();
        assert_eq!(ids.len(), 10_000);
        for id in ids.iter().take(100) {
            let u = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(u.get_version_num(), 4);
            assert_eq!(u.get_variant(), uuid::Variant::RFC4122);
        }
        // The mix is a bijection: 2^16 consecutive counters give 2^16 ids.
        let mixed: std::collections::HashSet<u64> = (0..1u64 << 16).map(mix62).collect();
        assert_eq!(mixed.len(), 1 << 16);
        assert!(mixed.iter().all(|m| m >> 62 == 0));
    }
}
