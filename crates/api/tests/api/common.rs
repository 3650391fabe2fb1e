//! A real imagehub (router + catalog + SQLite store) on a random loopback port.

use imagehub_catalog::{Catalog, ProjectId, Role, Stores};
use imagehub_store::testing::PgDatabase;
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";
pub const PROJECT_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
pub const PROJECT_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
pub const SYSTEM: &str = imagehub_catalog::SYSTEM_PROJECT;
/// The largest image the test servers store.
pub const IMAGE_SIZE_CAP: u64 = 1 << 20;
/// The most bytes one project's images hold on the test servers.
pub const PROJECT_QUOTA: u64 = 8 << 20;

pub struct Server {
    pub base: String,
    pub catalog: Catalog,
    /// The stores the catalog is on (for a test that puts a record in place directly).
    pub stores: Stores,
    /// The router itself, for tests that call it in process.
    pub app: axum::Router,
    pub http: reqwest::Client,
    /// Keeps the database (a temporary directory or a PostgreSQL database) alive.
    _db: Box<dyn std::any::Any + Send + Sync>,
}

/// Generates, for each named `async fn(Server)` of the module it is used in, one test on
/// SQLite and one on PostgreSQL.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Server::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(s) = $crate::common::Server::postgres(stringify!($name)).await {
                        super::$name(s).await;
                    }
                }
            )*
        }
    };
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Server {
    /// A server on a fresh SQLite file, with the read index in front of it as
    /// `imagehub serve` has.
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("imagehub.db").display());
        let store = imagehub_store::open_for_serving(&url).await.unwrap();
        Self::start(store, Box::new(dir)).await
    }

    /// A server on a fresh PostgreSQL database, with the read index following the
    /// database's change feed as `imagehub serve` has; `None` when PostgreSQL is
    /// unreachable outside CI (the test then says it skipped).
    pub async fn postgres(test: &str) -> Option<Self> {
        let db = PgDatabase::create(test).await?;
        let store = imagehub_store::open_for_serving(&db.url).await.unwrap();
        Some(Self::start(store, Box::new(db)).await)
    }

    /// A server on a fresh SQLite file whose stores are `wrap`ped (a test's stand-in for
    /// one port, such as one that acts between two steps of a catalog operation).
    pub async fn sqlite_wrapped(wrap: impl FnOnce(Stores) -> Stores) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("imagehub.db").display());
        let store = imagehub_store::open_for_serving(&url).await.unwrap();
        Self::start(wrap(store), Box::new(dir)).await
    }

    /// A server on a fresh SQLite file whose catalog follows `policy`.
    pub async fn sqlite_with_policy(policy: imagehub_catalog::Policy) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("imagehub.db").display());
        let store = imagehub_store::open_for_serving(&url).await.unwrap();
        Self::start_with(store, Box::new(dir), policy).await
    }

    async fn start(stores: Stores, db: Box<dyn std::any::Any + Send + Sync>) -> Self {
        Self::start_with(stores, db, imagehub_catalog::Policy::default()).await
    }

    async fn start_with(
        stores: Stores,
        db: Box<dyn std::any::Any + Send + Sync>,
        policy: imagehub_catalog::Policy,
    ) -> Self {
        let blob_dir = tempfile::tempdir().unwrap();
        let blobs = imagehub_blob::FsBlobStore::open(blob_dir.path(), imagehub_blob::Sweep::All).await.unwrap();
        let catalog = Catalog::new(stores.clone())
            .with_policy(policy)
            .with_master_key(imagehub_catalog::MasterKey::generate().unwrap())
            .await
            .unwrap()
            .with_data(imagehub_catalog::ImageData {
                blobs: std::sync::Arc::new(blobs),
                image_size_cap: IMAGE_SIZE_CAP,
                check_formats: true,
                project_quota: Some(PROJECT_QUOTA),
                // Loopback hosts, listed: the tests' own file servers.
                web: Some(std::sync::Arc::new(
                    imagehub_blob::WebFetcher::new(&["127.0.0.1".into(), "localhost".into()]).unwrap(),
                )),
            });
        assert_eq!(catalog.bootstrap(Some(ADMIN_TOKEN)).await.unwrap(), None);
        let app = imagehub_api::build(
            catalog.clone(),
            &imagehub_api::ApiConfig { body_limit: 64 * 1024, ..Default::default() },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(imagehub_api::serve(
            listener,
            app.clone(),
            std::future::pending(),
            imagehub_api::Limits::default(),
        ));
        Self { base, catalog, stores, app, http: reqwest::Client::new(), _db: Box::new((db, blob_dir)) }
    }

    pub async fn token(&self, project: &str, role: &str) -> String {
        let p = ProjectId::parse(project).unwrap();
        self.catalog.create_token(&p, Role::parse(role).unwrap(), None, None).await.unwrap()
    }

    /// Sends a request; `body` is sent as JSON when given.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Resp {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.header("X-Auth-Token", t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        Self::read(req.send().await.unwrap()).await
    }

    pub async fn read(resp: reqwest::Response) -> Resp {
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp { status, headers, body, text }
    }

    /// A request with arbitrary headers and a raw body.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Resp {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.header("X-Auth-Token", t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.body(b.to_owned());
        }
        Self::read(req.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.call(Method::GET, path, Some(token), None).await
    }

    /// Registers `swr_path` in `project` with extra body fields; asserts 200 and returns the image.
    pub async fn register(&self, project: &str, token: &str, swr_path: &str, extra: Value) -> Value {
        let mut body = serde_json::json!({ "swr_path": swr_path });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let r = self.call(Method::POST, &format!("/v1/{project}/images"), Some(token), Some(body)).await;
        assert_eq!(r.status, StatusCode::OK, "register {swr_path}: {}", r.text);
        r.body
    }
}

/// The JSON type name of a value.
pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

pub fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/api/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Asserts the ModelArts error envelope: status, `error_code`, a non-empty `error_msg`, `X-Request-Id`.
pub fn assert_error(r: &Resp, status: u16, code: &str) {
    assert_eq!(r.status.as_u16(), status, "body: {}", r.text);
    assert_eq!(r.body["error_code"], code, "body: {}", r.text);
    assert!(r.body["error_msg"].as_str().is_some_and(|m| !m.is_empty()), "body: {}", r.text);
    assert!(r.headers.contains_key("x-request-id"));
}
