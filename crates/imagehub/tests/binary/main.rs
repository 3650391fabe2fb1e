//! The real `imagehub` binary: its first start and admin commands (`cli`), the real
//! clients against it (`clients`: python-glanceclient, openstacksdk, the `glance` CLI, the
//! Huawei SDKs, SCNet's samples), and durability and several nodes (`durability`). One
//! test binary for the crate.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli;
mod clients;
mod durability;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_imagehub");
