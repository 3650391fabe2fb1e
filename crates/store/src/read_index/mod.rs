//! The read index: [`IndexedStore`] answers list, count and group queries from memory,
//! while every write, and every read of whole records, goes to the store underneath,
//! which stays the source of truth. (`imagehub_store::open_for_serving`, what `imagehub
//! serve` uses, puts it in front of the images; the CLI's commands use the plain store.)
//!
//! Why: at a million images SQL answers a list in time proportional to what the caller
//! can see (~10,000 rows for a typical project): about 10 ms per `COUNT` on SQLite and
//! up to seconds for PostgreSQL's fuzzy and group queries, too slow for a 10 ms p99 at
//! 16 connections. With the index a list costs what passes its filters.
//!
//! The parts:
//!
//! - [`index`]: one compact row per image (the attributes filters and sorts read, words
//!   as enums, repeated strings interned, no display field; the frequently tested ones in
//!   one 64-byte cache line, the rest behind a pointer), and the sets a visibility rule is
//!   made of: each project's own images and the public ones newest first, the community
//!   ones, and per project the images it is a member of. A list takes the parts of those
//!   sets that its scope admits ([`imagehub_catalog::AccessScope::parts`]), with the
//!   semantics of the SQL rendering on SQLite (NULL never matches and sorts first
//!   ascending; text compares bytewise; substring matches fold ASCII case); the store
//!   contract and a randomized comparison with the SQL store keep the two equal. After the
//!   start-up build rows are laid out public images first, then per project, newest
//!   first, so a scan reads memory in order. Its modules: `strings` (interning),
//!   `predicates` (compiled filters), `parts` (the access parts as sets), `selections`
//!   (kept selections: the rows of the own and public parts that pass a filter set, kept
//!   until a change reaches that part), `lists` (pages: the default order merged from
//!   kept selections at any offset or marker, other orders scanned), `groups`.
//! - [`records`]: bounded caches of whole records and group metadata, exactly as fresh
//!   as the index. A page's records come from there or, on a miss, from the store by
//!   primary key; a record deleted between the two steps is left out of the page (which
//!   is then one shorter than `total` implies).
//! - [`follow`]: how the index learns of writes. Where one process owns the database
//!   (SQLite, `<file>.serve-lock`), every write through this store re-reads what it
//!   touched after its commit and puts it into the index before it returns; re-reads are
//!   serialized, so the index converges on the last committed state. Where several nodes
//!   share it (PostgreSQL), the index follows the change feed ([`crate::feed`]) with a
//!   commit wait: writes answer no sooner than 10 ms after their commit, and a read may
//!   use a catch-up that started up to 10 ms before it arrived, so reads share catch-ups
//!   and any read that follows a write's answer, on any node, shows it.
//!
//! Either way a write that answered 2xx is visible to the next read. A page and the write
//! counter are read together under the index lock; if a write lands before the page's
//! records are read the list is tried again (three times, then SQL answers it), and each
//! record is checked against the caller's access rule before it is shown (a record read
//! from the store can be newer than the index). When the index cannot answer (stale
//! after a failed re-read, the feed unreadable, a page that writes kept changing) the
//! store underneath does. Start-up builds the index from the store (pages of 5,000 by id,
//! which a concurrent delete cannot derail, then every membership), so a restart cannot
//! change an answer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use imagehub_catalog::{
    AccessScope, Error, Filter, GroupId, GroupMeta, GroupQuery, Image, ImageBatches, ImageGroup, ImageId, ImageQuery,
    ImageStore, Member, Millis, Page, PageRequest, ProjectId, Result, Visibility,
};

mod follow;
mod index;
mod records;

use self::index::{GroupRow, Index};

use self::follow::{FeedState, Follow};
use self::records::{Records, poisoned};

use crate::feed::ChangeFeed;

/// How many records a start-up scan reads per query.
const SCAN_PAGE: u64 = 5_000;

/// About how many whole records are kept in memory (for list pages and shows), and as
/// many groups' metadata; the least useful are evicted beyond that.
const RECORD_CACHE: usize = 50_000;

/// How often a list is tried on the index while writes keep changing it under the
/// reading of its records, before the database answers it.
const LIST_TRIES: usize = 3;

pub struct IndexedStore {
    inner: Arc<dyn ImageStore>,
    follow: Follow,
    index: RwLock<Index>,
    records: Records,
    refresh: tokio::sync::Mutex<()>,
    /// Images written and committed whose refresh has not run yet ([`Self::refresh`]).
    pending: std::sync::Mutex<Vec<ImageId>>,
    stale: AtomicBool,
    /// A file lock kept for as long as the store lives (see [`crate::open_for_serving`]).
    _lock: Option<std::fs::File>,
}

impl IndexedStore {
    /// Builds the index from every image and membership in `inner`, for a process that
    /// owns the database (every write goes through this store).
    pub async fn build(inner: Arc<dyn ImageStore>) -> Result<Self> {
        let index = Self::scan(inner.as_ref()).await?;
        Ok(Self {
            inner,
            follow: Follow::Own,
            index: RwLock::new(index),
            records: Records::new(RECORD_CACHE),
            refresh: tokio::sync::Mutex::new(()),
            pending: std::sync::Mutex::new(Vec::new()),
            stale: AtomicBool::new(false),
            _lock: None,
        })
    }

    /// Builds the index from `inner` for a node among several on one database: it then
    /// follows `feed`, the change feed of that database.
    pub async fn following(inner: Arc<dyn ImageStore>, feed: Arc<dyn ChangeFeed>) -> Result<Self> {
        // Changes committed while the scan runs are applied again by the first catch-up.
        let seen = feed.version().await?;
        let mut store = Self::build(inner).await?;
        store.follow = Follow::Feed(FeedState::new(feed, seen));
        Ok(store)
    }

    /// Every image and membership of `inner`, indexed.
    async fn scan(inner: &dyn ImageStore) -> Result<Index> {
        let mut index = Index::default();
        let members = inner.all_members().await?;
        let mut by_image: HashMap<ImageId, Vec<Member>> = HashMap::new();
        for m in members {
            by_image.entry(m.image_id).or_default().push(m);
        }
        let mut after: Option<ImageId> = None;
        loop {
            let batch = inner.images_after(after, SCAN_PAGE).await?;
            for image in &batch {
                index.put(image, by_image.get(&image.id).map_or(&[], Vec::as_slice));
            }
            match batch.last() {
                Some(last) if batch.len() as u64 == SCAN_PAGE => after = Some(last.id),
                _ => break,
            }
        }
        index.compact();
        Ok(index)
    }

    /// Keeps `lock` held until this store is dropped.
    pub fn holding(mut self, lock: std::fs::File) -> Self {
        self._lock = Some(lock);
        self
    }

    /// How many images the index holds.
    pub fn indexed(&self) -> usize {
        self.index.read().map_or(0, |i| i.len())
    }

    fn usable(&self) -> bool {
        !self.stale.load(Ordering::Acquire)
    }

    fn read_index<T>(&self, f: impl FnOnce(&Index) -> T) -> Result<T> {
        let guard = self.index.read().map_err(poisoned)?;
        Ok(f(&guard))
    }

    /// Whether the index may answer a read now: it is not stale and, on a following
    /// node, it has caught up with the feed (if the feed cannot be read, the database
    /// answers).
    async fn ready(&self) -> bool {
        if !self.usable() {
            return false;
        }
        match self.catch_up().await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e.log_detail(), "read index could not catch up with the change feed; the database answers");
                false
            }
        }
    }

    /// The write counter of the caches, read together with an index answer.
    fn generation(&self) -> Result<u64> {
        self.records.generation()
    }

    /// The records of `ids`, in that order (an id deleted meanwhile is left out).
    async fn records(&self, ids: &[ImageId]) -> Result<Vec<Arc<Image>>> {
        let found = self
            .records
            .images(ids, self.usable(), |missing| async move {
                let images = self.inner.get_images(&missing).await?;
                Ok(images.into_iter().map(|i| (i.id, Arc::new(i))).collect())
            })
            .await?;
        Ok(found.into_iter().flatten().collect())
    }

    /// Forgets the cached metadata of `groups` after a write that may have changed it.
    async fn forget_metas(&self, groups: &[GroupId]) {
        let _serial = self.refresh.lock().await;
        if self.forget(groups).is_err() {
            self.mark_stale("lock poisoned");
        }
    }

    /// [`Self::forget_metas`] for a caller that holds the `refresh` lock.
    fn forget(&self, groups: &[GroupId]) -> Result<()> {
        if groups.is_empty() {
            return Ok(());
        }
        let mut records = self.records.write()?;
        for g in groups {
            records.forget_meta(g);
        }
        Ok(())
    }

    /// Group metadata from the cache, or from the store (then cached, as [`Self::records`]).
    async fn metas(&self, ids: &[GroupId]) -> Result<Vec<(GroupId, GroupMeta)>> {
        let found = self
            .records
            .metas(ids, self.usable(), |missing| async move {
                let stored = self.inner.group_metas(&missing).await?;
                Ok(missing
                    .iter()
                    .map(|id| (*id, stored.iter().find(|(g, _)| g == id).map(|(_, m)| m.clone())))
                    .collect())
            })
            .await?;
        Ok(ids.iter().zip(found).filter_map(|(id, meta)| meta.flatten().map(|m| (*id, m))).collect())
    }

    async fn groups(&self, rows: Vec<GroupRow>) -> Result<Vec<ImageGroup>> {
        let ids: Vec<GroupId> = rows.iter().map(|g| g.id).collect();
        let metas = self.metas(&ids).await?;
        rows.into_iter()
            .map(|g| {
                Ok(ImageGroup {
                    id: g.id,
                    owner: ProjectId::parse(&g.owner)
                        .ok_or_else(|| Error::Internal(format!("indexed owner is unreadable: {:?}", g.owner)))?,
                    namespace: g.namespace,
                    name: g.name,
                    version_count: g.version_count,
                    created_at: Millis(g.created_min),
                    updated_at: Millis(g.updated_max),
                    meta: metas.iter().find(|(id, _)| *id == g.id).map(|(_, m)| m.clone()).unwrap_or_default(),
                })
            })
            .collect()
    }
}

#[async_trait]
impl ImageStore for IndexedStore {
    async fn insert_image(&self, image: &Image, group_read_me: Option<&str>) -> Result<()> {
        let r = self.inner.insert_image(image, group_read_me).await;
        let groups = if group_read_me.is_some() { vec![image.group_id()] } else { vec![] };
        match &r {
            Ok(()) => self.follow_insert(image, &groups).await,
            // The key or the id is taken: nothing was written.
            Err(Error::Duplicate(_)) => {}
            Err(_) => self.follow_write(&[image.id], &groups).await,
        }
        r
    }

    async fn insert_images(&self, images: &[Image]) -> Result<()> {
        let r = self.inner.insert_images(images).await;
        let ids: Vec<ImageId> = images.iter().map(|i| i.id).collect();
        self.follow_write(&ids, &[]).await;
        r
    }

    async fn load_images(&self, batches: &mut dyn ImageBatches) -> Result<u64> {
        // A load that failed changed nothing (it is one transaction).
        let loaded = self.inner.load_images(batches).await?;
        self.reload().await;
        Ok(loaded)
    }

    async fn insert_image_if_absent(&self, image: &Image) -> Result<bool> {
        let r = self.inner.insert_image_if_absent(image).await;
        self.follow_write(&[image.id], &[]).await;
        r
    }

    async fn get_image(&self, id: ImageId) -> Result<Option<Image>> {
        if !self.ready().await {
            return self.inner.get_image(id).await;
        }
        Ok(self.records(&[id]).await?.pop().map(Arc::unwrap_or_clone))
    }

    async fn storage_used(&self, owner: &ProjectId) -> Result<u64> {
        self.inner.storage_used(owner).await
    }

    async fn images_after(&self, after: Option<ImageId>, limit: u64) -> Result<Vec<Image>> {
        self.inner.images_after(after, limit).await
    }

    async fn get_images(&self, ids: &[ImageId]) -> Result<Vec<Image>> {
        if !self.ready().await {
            return self.inner.get_images(ids).await;
        }
        Ok(self.records(ids).await?.into_iter().map(Arc::unwrap_or_clone).collect())
    }

    async fn update_image(&self, image: &Image) -> Result<()> {
        let r = self.inner.update_image(image).await;
        self.follow_write(&[image.id], &[]).await;
        r
    }

    async fn update_image_if(&self, image: &Image, was: &Image) -> Result<bool> {
        let r = self.inner.update_image_if(image, was).await;
        self.follow_write(&[image.id], &[]).await;
        r
    }

    async fn add_member(&self, member: &Member) -> Result<()> {
        let r = self.inner.add_member(member).await;
        self.follow_write(&[member.image_id], &[]).await;
        r
    }

    async fn get_member(&self, image: ImageId, project: &ProjectId) -> Result<Option<Member>> {
        self.inner.get_member(image, project).await
    }

    async fn list_members(&self, image: ImageId) -> Result<Vec<Member>> {
        self.inner.list_members(image).await
    }

    async fn members_of(&self, images: &[ImageId]) -> Result<Vec<Member>> {
        self.inner.members_of(images).await
    }

    async fn all_members(&self) -> Result<Vec<Member>> {
        self.inner.all_members().await
    }

    async fn update_member(&self, member: &Member) -> Result<()> {
        let r = self.inner.update_member(member).await;
        self.follow_write(&[member.image_id], &[]).await;
        r
    }

    async fn delete_member(&self, image: ImageId, project: &ProjectId) -> Result<bool> {
        let r = self.inner.delete_member(image, project).await;
        self.follow_write(&[image], &[]).await;
        r
    }

    async fn delete_image(&self, id: ImageId) -> Result<bool> {
        let r = self.inner.delete_image(id).await;
        self.follow_write(&[id], &[]).await;
        r
    }

    async fn list_images(&self, access: &AccessScope, query: &ImageQuery) -> Result<Page<Arc<Image>>> {
        if !self.ready().await {
            return self.inner.list_images(access, query).await;
        }
        for _ in 0..LIST_TRIES {
            // The page and the write counter are read under the index lock (a write bumps
            // the counter under it too), so the page belongs to that generation.
            let (page, generation) = {
                let index = self.index.read().map_err(poisoned)?;
                (index.list(access, query), self.generation()?)
            };
            let Some(page) = page else {
                let PageRequest::After { marker, .. } = &query.page else {
                    return Err(Error::Internal("read index: a page without a marker failed".into()));
                };
                return Err(Error::invalid(format!("marker {marker} not found")));
            };
            let items = self.records(&page.items).await?;
            if self.generation()? != generation {
                // A write landed between the page and its records: read it again.
                continue;
            }
            // A record read from the database can be newer than the index (its write has
            // committed, its refresh not yet run): show it only if the caller may see it
            // (the rule reads a membership only for a shared image).
            let items = self.read_index(|index| {
                let membership =
                    |i: &Image| (i.visibility == Visibility::Shared).then(|| index.membership(i.id, access.viewer()));
                items.into_iter().filter(|i| access.admits(i, membership(i).flatten())).collect()
            })?;
            return Ok(Page { items, total: query.with_total.then_some(page.total), has_more: page.has_more });
        }
        self.inner.list_images(access, query).await
    }

    async fn list_groups(&self, access: &AccessScope, query: &GroupQuery) -> Result<Page<ImageGroup>> {
        if !self.ready().await {
            return self.inner.list_groups(access, query).await;
        }
        let page = self.read_index(|index| index.list_groups(access, query))?;
        Ok(Page { items: self.groups(page.items).await?, total: Some(page.total), has_more: page.has_more })
    }

    async fn get_group(&self, access: &AccessScope, id: GroupId, filters: &[Filter]) -> Result<Option<ImageGroup>> {
        if !self.ready().await {
            return self.inner.get_group(access, id, filters).await;
        }
        let Some(row) = self.read_index(|index| index.get_group(access, id, filters))? else { return Ok(None) };
        Ok(self.groups(vec![row]).await?.pop())
    }

    async fn delete_group(&self, id: GroupId, filters: &[Filter]) -> Result<u64> {
        if let Follow::Feed(_) = self.follow {
            // The feed lists every image the delete took.
            let r = self.inner.delete_group(id, filters).await;
            self.follow_write(&[], &[]).await;
            return r;
        }
        let mut ids = self.read_index(|index| index.group_members(id))?;
        let r = self.inner.delete_group(id, filters).await;
        self.forget_metas(&[id]).await;
        // Images that joined the group in the index meanwhile (a register or rename whose
        // refresh read them before the delete committed) are re-read too: holding the
        // lock, every earlier refresh has been applied.
        let _serial = self.refresh.lock().await;
        ids.extend(self.read_index(|index| index.group_members(id))?);
        ids.sort_unstable();
        ids.dedup();
        self.apply_or_give_up(&ids).await;
        r
    }

    async fn put_group_meta(&self, id: GroupId, meta: &GroupMeta) -> Result<()> {
        let r = self.inner.put_group_meta(id, meta).await;
        self.follow_write(&[], &[id]).await;
        r
    }

    async fn group_metas(&self, ids: &[GroupId]) -> Result<Vec<(GroupId, GroupMeta)>> {
        if !self.ready().await {
            return self.inner.group_metas(ids).await;
        }
        self.metas(ids).await
    }
}
