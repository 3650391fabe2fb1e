//! imagehub's persistence: implementations of [`imagehub_catalog::Store`].
//!
//! The catalog's query model is rendered to SQL in one place ([`render`]) with sea-query;
//! a backend only picks the query builder and runs the statements.

mod migrations;
pub mod render;
mod row;
mod sqlite;

pub use sqlite::SqliteStore;
