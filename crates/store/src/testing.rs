//! Test support (feature `testing`): a fresh PostgreSQL database per test.
//!
//! The server is `IMAGEHUB_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/postgres`).
//! If it cannot be reached, a test is skipped with a loud message on the terminal, unless
//! `CI` is set: in CI an unreachable PostgreSQL is a failure.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::Write;

use sqlx::Connection;
use sqlx::postgres::PgConnection;

pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub fn admin_url() -> String {
    std::env::var("IMAGEHUB_TEST_POSTGRES").ok().filter(|u| !u.is_empty()).unwrap_or_else(|| DEFAULT_ADMIN_URL.into())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// `url` naming database `name` instead of its own, everything else (user, password,
/// host, port, parameters) as it is.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let root = base[authority..].find('/').map_or(base, |i| &base[..authority + i]);
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

/// A database created for one test, dropped (with its connections) when this is dropped.
pub struct PgDatabase {
    pub url: String,
    name: String,
}

impl PgDatabase {
    /// Creates an empty database, or returns `None` (after saying so loudly) when no
    /// PostgreSQL is reachable outside CI.
    pub async fn create(test: &str) -> Option<Self> {
        let admin = admin_url();
        let mut conn = match PgConnection::connect(&admin).await {
            Ok(c) => c,
            Err(e) if !in_ci() => {
                let _ = writeln!(
                    std::io::stderr(),
                    "\n*** SKIPPED {test}: PostgreSQL is unreachable at {admin} ({e}). \
                     Start it (see README, \"Tests\") or set IMAGEHUB_TEST_POSTGRES. ***\n"
                );
                return None;
            }
            Err(e) => panic!("PostgreSQL is unreachable at {admin} in CI: {e}"),
        };
        let mut id = [0u8; 8];
        getrandom::fill(&mut id).expect("randomness");
        let name = format!("imagehub_t_{}", id.iter().map(|b| format!("{b:02x}")).collect::<String>());
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create test database");
        let _ = conn.close().await;
        Some(Self { url: with_database(&admin, &name), name })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs outside any runtime we may block; use a thread with its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                if let Ok(mut c) = PgConnection::connect(&admin_url()).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut c).await;
                }
            });
        })
        .join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test database's URL keeps what the server needs (a fresh install asks for a
    /// password on TCP).
    #[test]
    fn test_database_urls_keep_the_credentials() {
        assert_eq!(
            with_database("postgres://postgres:secret@127.0.0.1:5432/postgres?sslmode=disable", "t1"),
            "postgres://postgres:secret@127.0.0.1:5432/t1?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h/db", "t2"), "postgres://u@h/t2");
        assert_eq!(with_database("postgresql://u:p@h:1", "t3"), "postgresql://u:p@h:1/t3");
    }
}
