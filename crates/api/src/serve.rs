//! The connection loop: HTTP/1.1 over TCP, with the bounds a public service needs.
//!
//! - **Headers**: a request's headers must arrive within [`Limits::header_timeout`],
//!   counted from when the connection opened or the previous response went out (hyper's
//!   header read timeout), so the same bound closes an idle keep-alive connection and a
//!   client that sends its headers byte by byte.
//! - **Bodies**: a body that sends nothing for [`Limits::body_timeout`] is cut off (the
//!   request fails to read it and the connection closes), and so is one that arrives,
//!   after that long, slower on average than [`MIN_BODY_RATE`] bytes a second (a client
//!   dripping a byte now and then would otherwise hold a connection and its buffer for
//!   ever); a body whose `Content-Length` exceeds the body limit is answered 413 before
//!   any of it is read (see the admission layer in `lib.rs`).
//! - **Connections**: at most [`Limits::max_connections`] are served at once; when that
//!   many are open, new ones wait in the listen backlog, and the log says so once per
//!   minute while it lasts.
//!
//! Only HTTP/1.1 is spoken (every client imagehub serves uses it; with HTTP/2's prior
//! knowledge detection, hyper has no timer running until the protocol is known).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;

/// The bounds of [`serve`].
#[derive(Debug, Clone)]
pub struct Limits {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub max_connections: usize,
    /// How long in-flight requests may take to finish once shutdown began.
    pub drain_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(30),
            max_connections: 4096,
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// The slowest a request body may arrive on average once [`Limits::body_timeout`] has
/// passed since its first byte was asked for: 16 KiB/s, far below any real client's.
pub const MIN_BODY_RATE: u64 = 16 * 1024;

/// How often, at most, the log repeats that the connection limit is reached.
const LIMIT_LOG_EVERY: Duration = Duration::from_secs(60);

/// Serves `app` on `listener` until `shutdown` completes, then lets in-flight requests
/// finish (within [`Limits::drain_timeout`]).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: Limits,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).keep_alive(true);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut limit_logged: Option<Instant> = None;
    loop {
        // A permit first: at the limit, connections wait in the backlog, not in memory.
        let permit = match permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if limit_logged.is_none_or(|at| at.elapsed() >= LIMIT_LOG_EVERY) {
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        "connection limit reached: new connections wait until one closes \
                         (raise max_connections if this is regular load)"
                    );
                    limit_logged = Some(Instant::now());
                }
                tokio::select! {
                    p = permits.clone().acquire_owned() => match p {
                        Ok(p) => p,
                        Err(_) => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: say so, and let the system
                    // recover instead of spinning.
                    tracing::error!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let body_timeout = limits.body_timeout;
        let service = TowerToHyperService::new(app.clone().map_request(move |req: Request<Incoming>| {
            // Only a request with a body gets the stall timer (most requests have none).
            if has_body(&req) {
                req.map(|b| axum::body::Body::new(TimeoutBody::new(body_timeout, MinRate::new(b, body_timeout))))
            } else {
                req.map(axum::body::Body::new)
            }
        }));
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection closed");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.drain_timeout, graceful.shutdown()).await.is_err() {
        tracing::warn!("shutdown: requests still running after {:?} were cut off", limits.drain_timeout);
    }
    Ok(())
}

/// Whether a request carries a body: a non-zero `Content-Length`, or a transfer coding.
fn has_body<B>(req: &Request<B>) -> bool {
    let h = req.headers();
    h.contains_key(axum::http::header::TRANSFER_ENCODING)
        || h.get(axum::http::header::CONTENT_LENGTH).is_some_and(|v| v.as_bytes() != b"0")
}

/// A body cut off when, `grace` after it was first polled, it has arrived slower on
/// average than [`MIN_BODY_RATE`] (a stall is [`TimeoutBody`]'s to cut).
struct MinRate<B> {
    inner: B,
    grace: Duration,
    started: Option<Instant>,
    received: u64,
}

impl<B> MinRate<B> {
    fn new(inner: B, grace: Duration) -> Self {
        Self { inner, grace, started: None, received: 0 }
    }
}

impl<B> hyper::body::Body for MinRate<B>
where
    B: hyper::body::Body<Data = axum::body::Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = axum::body::Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        let started = *this.started.get_or_insert_with(Instant::now);
        let frame = std::task::ready!(std::pin::Pin::new(&mut this.inner).poll_frame(cx));
        if let Some(Ok(f)) = &frame {
            this.received += f.data_ref().map_or(0, |d| d.len() as u64);
            let allowed = this.grace + Duration::from_millis(this.received.saturating_mul(1000) / MIN_BODY_RATE);
            if started.elapsed() > allowed {
                return std::task::Poll::Ready(Some(Err(format!(
                    "the request body arrives slower than {MIN_BODY_RATE} bytes a second"
                )
                .into())));
            }
        }
        std::task::Poll::Ready(frame.map(|f| f.map_err(Into::into)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}
