//! How the read index learns of writes ([`Follow`]): re-reading what each write through
//! this process touched (one process owns the database: SQLite), or following the
//! change feed ([`crate::feed`]) where several nodes share it (PostgreSQL), with the
//! commit wait that lets every node's reads share catch-ups.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use imagehub_catalog::{Error, GroupId, Image, ImageId, Member, Result};

use super::IndexedStore;
use super::records::poisoned;
use crate::feed::ChangeFeed;

/// How long a following node holds back a write's answer after its commit. A read, on
/// any node, may be answered from a catch-up that started up to this long before the
/// read arrived: a client that got the answer of a write and then reads arrives later
/// than COMMIT_WAIT after the commit, so that catch-up started after the commit and
/// shows the write. (Commit wait, as in Spanner; only the rates of the nodes' monotonic
/// clocks matter, not their settings.) Reads then share catch-ups instead of queueing
/// for a new one each.
pub(super) const COMMIT_WAIT: std::time::Duration = std::time::Duration::from_millis(10);

/// How often an idle following node catches up with the change feed on its own (reads
/// and writes catch up anyway; this keeps a quiet node's first read cheap). A busy one
/// catches up ahead of its reads (see [`IndexedStore::follow`]).
pub(super) const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// How long a read waits for a catch-up that another request runs before the database
/// answers it instead (a catch-up takes about a millisecond; a rebuild, seconds).
pub(super) const CATCH_UP_PATIENCE: std::time::Duration = std::time::Duration::from_millis(50);

/// How the index learns of writes.
pub(super) enum Follow {
    /// This process owns the database: each write re-reads what it touched.
    Own,
    /// Nodes share the database: the change feed is read before each read and after each write.
    Feed(FeedState),
}

pub(super) struct FeedState {
    feed: Arc<dyn ChangeFeed>,
    /// The feed version whose changes the index holds.
    seen: AtomicI64,
    /// Serializes catch-ups, so that one serves every read waiting on it.
    check: tokio::sync::Mutex<()>,
    /// When the last successful catch-up started, in nanoseconds after `epoch` (0: never).
    fresh_as_of: AtomicU64,
    /// When a read last asked for a catch-up (as `fresh_as_of`).
    last_read: AtomicU64,
    epoch: std::time::Instant,
}

impl FeedState {
    /// Following `feed` from version `seen` on.
    pub(super) fn new(feed: Arc<dyn ChangeFeed>, seen: i64) -> Self {
        Self {
            feed,
            seen: AtomicI64::new(seen),
            check: tokio::sync::Mutex::new(()),
            fresh_as_of: AtomicU64::new(0),
            last_read: AtomicU64::new(0),
            epoch: std::time::Instant::now(),
        }
    }

    /// Nanoseconds since `epoch`, at least 1.
    pub(super) fn nanos(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX).max(1)
    }
}

impl IndexedStore {
    /// On a following node: makes the index show every write answered before this call
    /// (nothing to do for a store that owns its database). A catch-up that started at
    /// most [`COMMIT_WAIT`] ago serves; otherwise one runs (reads arriving meanwhile wait
    /// for it and share it): the feed's version, then the changes since the index's.
    pub async fn catch_up(&self) -> Result<()> {
        let Follow::Feed(f) = &self.follow else { return Ok(()) };
        f.last_read.store(f.nanos(), Ordering::Relaxed);
        self.catch_up_within(f, COMMIT_WAIT, Some(CATCH_UP_PATIENCE)).await
    }

    /// On a following node, starts the task that keeps the index following the feed
    /// while the store lives: every half [`COMMIT_WAIT`], [`Self::follow`].
    pub fn spawn_follower(self: &Arc<Self>) {
        if !matches!(self.follow, Follow::Feed(_)) {
            return;
        }
        let node = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(COMMIT_WAIT / 2).await;
                let Some(store) = node.upgrade() else { break };
                if let Err(e) = store.follow().await {
                    tracing::warn!(error = %e.log_detail(), "read index could not follow the change feed");
                }
            }
        });
    }

    /// Keeps a busy following node ahead of its reads: while reads came within the last
    /// second, runs a catch-up when the last one started more than half of
    /// [`COMMIT_WAIT`] ago, so that reads seldom wait for one; otherwise, when the last
    /// one is older than [`FOLLOW_EVERY`].
    pub(super) async fn follow(&self) -> Result<()> {
        let Follow::Feed(f) = &self.follow else { return Ok(()) };
        let quiet = f.nanos().saturating_sub(f.last_read.load(Ordering::Relaxed)) > 1_000_000_000;
        self.catch_up_within(f, if quiet { FOLLOW_EVERY } else { COMMIT_WAIT / 2 }, None).await
    }

    /// Runs a catch-up unless one that started less than `age` ago succeeded.
    /// With `patience`, gives up (`Unavailable`) if another catch-up holds the way longer
    /// than that (a rebuild, a slow database): the caller's read is then answered by SQL.
    pub(super) async fn catch_up_within(
        &self,
        f: &FeedState,
        age: std::time::Duration,
        patience: Option<std::time::Duration>,
    ) -> Result<()> {
        // Commits older than COMMIT_WAIT have been answered; a catch-up that started
        // after them shows them all.
        let needed = f.nanos().saturating_sub(u64::try_from(age.as_nanos()).unwrap_or(u64::MAX)).max(1);
        if f.fresh_as_of.load(Ordering::SeqCst) >= needed {
            return Ok(());
        }
        let _check = match patience {
            None => f.check.lock().await,
            Some(p) => tokio::time::timeout(p, f.check.lock())
                .await
                .map_err(|_| Error::Unavailable("the read index is catching up with the change feed".into()))?,
        };
        if f.fresh_as_of.load(Ordering::SeqCst) >= needed {
            return Ok(());
        }
        let this = f.nanos();
        let from = f.seen.load(Ordering::SeqCst);
        if f.feed.version().await? > from {
            let _serial = self.refresh.lock().await;
            match f.feed.since(from).await? {
                Some(changes) => {
                    self.apply(&changes.images).await?;
                    self.forget(&changes.groups)?;
                    f.seen.store(changes.version, Ordering::SeqCst);
                }
                None => {
                    tracing::info!(from, "read index fell behind the kept changes; rebuilding it");
                    let version = f.feed.version().await?;
                    self.rebuild().await?;
                    f.seen.store(version, Ordering::SeqCst);
                }
            }
        }
        f.fresh_as_of.fetch_max(this, Ordering::SeqCst);
        Ok(())
    }

    /// After a write through this store: re-read what it touched (a store that owns its
    /// database) or catch up with the feed (a following node).
    pub(super) async fn follow_write(&self, images: &[ImageId], groups: &[GroupId]) {
        match &self.follow {
            Follow::Own => {
                if !groups.is_empty() {
                    self.forget_metas(groups).await;
                }
                self.refresh(images).await;
            }
            Follow::Feed(_) => {
                let committed = tokio::time::Instant::now();
                if let Err(e) = self.catch_up().await {
                    tracing::warn!(error = %e.log_detail(), "read index could not catch up after a write; the next read tries again");
                }
                tokio::time::sleep_until(committed + COMMIT_WAIT).await;
            }
        }
    }

    /// Builds the index afresh from the store and empties the record cache. The caller
    /// holds `refresh`.
    pub(super) async fn rebuild(&self) -> Result<()> {
        let index = Self::scan(self.inner.as_ref()).await?;
        let mut current = self.index.write().map_err(poisoned)?;
        let mut records = self.records.write()?;
        *current = index;
        records.clear();
        Ok(())
    }

    /// After a bulk load: a store that owns its database builds its index afresh (re-reading
    /// many images one by one would be slower); a following node catches up with the feed,
    /// which rebuilds when the load was more than the feed keeps.
    pub(super) async fn reload(&self) {
        match &self.follow {
            Follow::Own => {
                let _serial = self.refresh.lock().await;
                if let Err(e) = self.rebuild().await {
                    tracing::error!(error = %e.log_detail(), "read index could not be rebuilt after a bulk load");
                    self.mark_stale("rebuild after a bulk load failed");
                }
            }
            Follow::Feed(_) => self.follow_write(&[], &[]).await,
        }
    }

    /// Re-reads `ids` from the store and puts their current state into the index.
    /// Refreshes coalesce: the ids join the pending ones, and whoever holds the `refresh`
    /// lock next re-reads every pending id at once, so the writes of one committed batch
    /// update the index together. (An id is pending only after its write committed, and
    /// a holder reads the store after taking the pending ids, so it reads that write.)
    pub(super) async fn refresh(&self, ids: &[ImageId]) {
        if ids.is_empty() {
            return;
        }
        self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend_from_slice(ids);
        let _serial = self.refresh.lock().await;
        let mut ids = std::mem::take(&mut *self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        if ids.is_empty() {
            // An earlier holder re-read them.
            return;
        }
        ids.sort_unstable();
        ids.dedup();
        self.apply_or_give_up(&ids).await;
    }

    /// [`Self::apply`], retried twice before the index is given up (marked stale).
    pub(super) async fn apply_or_give_up(&self, ids: &[ImageId]) {
        let mut applied = self.apply(ids).await;
        for _ in 0..2 {
            if applied.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            applied = self.apply(ids).await;
        }
        if let Err(e) = applied {
            self.mark_stale(&e.log_detail());
        }
    }

    /// Puts the current state of `ids` into the index and the record cache; the caller
    /// holds the `refresh` lock. On an error nothing has changed.
    pub(super) async fn apply(&self, ids: &[ImageId]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let found = self.current(ids).await?;
        self.put_found(ids, found)
    }

    /// Replaces `ids` in the index and the record cache by `found`, their state now (an
    /// id not found is gone); the caller holds the `refresh` lock.
    fn put_found(&self, ids: &[ImageId], found: Vec<(Image, Vec<Member>)>) -> Result<()> {
        let mut index = self.index.write().map_err(poisoned)?;
        let mut records = self.records.write()?;
        for id in ids {
            index.remove(*id);
            records.forget_image(id);
        }
        for (image, members) in found {
            index.put(&image, &members);
            records.put_image(Arc::new(image));
        }
        Ok(())
    }

    /// After the insert of a new image committed: a store that owns its database puts
    /// it into the index as it was written, without reading it back (its id was unknown
    /// until the insert answers, so no other write can have touched it; an id the index
    /// holds already is read back). A following node catches up with the feed.
    pub(super) async fn follow_insert(&self, image: &Image, groups: &[GroupId]) {
        if !matches!(self.follow, Follow::Own) {
            return self.follow_write(&[image.id], groups).await;
        }
        if !groups.is_empty() {
            self.forget_metas(groups).await;
        }
        let _serial = self.refresh.lock().await;
        if self.read_index(|index| index.contains(image.id)).unwrap_or(true) {
            self.apply_or_give_up(&[image.id]).await;
        } else if let Err(e) = self.put_found(&[image.id], vec![(image.clone(), Vec::new())]) {
            self.mark_stale(&e.log_detail());
        }
    }

    pub(super) async fn current(&self, ids: &[ImageId]) -> Result<Vec<(Image, Vec<Member>)>> {
        let images = self.inner.get_images(ids).await?;
        let mut members: HashMap<ImageId, Vec<Member>> = HashMap::new();
        for m in self.inner.members_of(ids).await? {
            members.entry(m.image_id).or_default().push(m);
        }
        Ok(images
            .into_iter()
            .map(|image| {
                let mut of = members.remove(&image.id).unwrap_or_default();
                of.sort_by(|a, b| (a.created_at, &a.member).cmp(&(b.created_at, &b.member)));
                (image, of)
            })
            .collect())
    }

    pub(super) fn mark_stale(&self, why: &str) {
        tracing::error!(why, "read index could not follow a write; queries go to the database until restart");
        self.stale.store(true, Ordering::Release);
    }
}
