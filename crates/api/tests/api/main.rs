//! imagehub's HTTP faces through the real router on a random port, on both backends:
//! each face route by route, the rules every face shares (`faces`), requests signed with
//! access keys, concurrency, parsers fed arbitrary input, and snapshots of each face's
//! shapes. One test binary for the crate.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

mod concurrency;
mod faces;
mod glance;
mod identity;
mod modelarts;
mod parsers;
mod scnet;
mod shapes;
mod signed;
