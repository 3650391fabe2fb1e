//! The change feed: how several imagehub nodes on one PostgreSQL database keep their read
//! indexes ([`crate::IndexedStore`]) current.
//!
//! Every write transaction ends by taking the next version of a one-row clock
//! (`UPDATE change_clock SET version = version + 1 … RETURNING`) and listing, under that
//! version, the images and groups it touched (table `changes`). The clock row stays locked
//! until the transaction commits, so the next writer gets its version only after the
//! previous one committed: versions become visible in order and without gaps. A node that
//! has applied every change up to version `v` and then reads the clock at `w` misses
//! exactly the changes in `(v, w]`. That is what a following node does before each read
//! (one single-row query) and after each of its own writes, so a write that answered 2xx
//! on any node is in every node's next answer.
//!
//! The changes of the last `keep` versions are kept (a column of the clock, 100,000 by
//! default); a node further behind than that rebuilds its index from the tables.
//!
//! This module is the contract between the two subsystems: the SQL store writes and
//! serves the feed (`sql/feed.rs`), the read index follows it (`read_index`).

use async_trait::async_trait;
use imagehub_catalog::{GroupId, ImageId, Result};

/// What changed between two versions of the feed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    /// The version these changes bring a follower to.
    pub version: i64,
    /// Images written, deleted, or whose members changed (sorted, once each).
    pub images: Vec<ImageId>,
    /// Groups whose metadata was written or deleted (sorted, once each).
    pub groups: Vec<GroupId>,
}

#[async_trait]
pub trait ChangeFeed: Send + Sync + 'static {
    /// The version of the last committed write.
    async fn version(&self) -> Result<i64>;

    /// What changed after version `from`, up to the current version; `None` if some of
    /// those changes are no longer kept.
    async fn since(&self, from: i64) -> Result<Option<Changes>>;
}
