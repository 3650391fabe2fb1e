//! The store: the contract every backend passes (on SQLite, PostgreSQL and the read
//! index), the read index against the SQL store, query plans, and the schemas. One test
//! binary for the crate.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod contract;

mod plans;
mod postgres;
mod read_index;
mod schema;
mod sqlite;
