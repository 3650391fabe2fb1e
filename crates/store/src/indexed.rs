//! [`IndexedStore`]: a store whose list, count and group queries are answered by the
//! in-memory [`Index`] while every write, and every read of whole records, goes to the
//! store underneath, which stays the source of truth.
//!
//! Freshness: every write through this store re-reads the images it touched from the
//! underlying store after its commit and puts them into the index before it returns, so
//! a write that answered 2xx is visible to the next read. Re-reads are serialized, so the
//! index converges on the last committed state whatever order concurrent writes finish
//! in. The index only sees writes made through this process: it is used where one
//! process owns the database (SQLite). If a re-read fails, the index is marked stale and
//! queries go to the store until the process restarts (which rebuilds the index).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use imagehub_catalog::{
    AccessKeyRecord, AccessScope, Error, GroupId, GroupMeta, GroupQuery, Image, ImageGroup, ImageId, ImageQuery,
    Member, Millis, Page, PageRequest, ProjectId, Result, SortDir, SortKey, Store, TokenRecord,
};

use crate::index::{GroupRow, Index};

/// How many records a start-up scan reads per query.
const SCAN_PAGE: u64 = 5_000;

/// How many whole records are kept in memory (for list pages and shows); the cache is
/// emptied when it is full.
const RECORD_CACHE: usize = 50_000;

/// How often a list is tried on the index while writes keep changing it under the
/// reading of its records, before the database answers it.
const LIST_TRIES: usize = 3;

/// Whole records read recently, kept exactly as fresh as the index: a write replaces
/// the records it touched (under the same serialization as the index). `generation`
/// counts writes, so that a record read from the database while a write ran is not
/// cached over the write's newer one.
#[derive(Default)]
struct Records {
    map: HashMap<ImageId, Arc<Image>>,
    /// Group metadata by group (`None`: the group has none).
    metas: HashMap<GroupId, Option<GroupMeta>>,
    generation: u64,
}

pub struct IndexedStore {
    inner: Arc<dyn Store>,
    index: RwLock<Index>,
    records: RwLock<Records>,
    refresh: tokio::sync::Mutex<()>,
    stale: AtomicBool,
    /// A file lock kept for as long as the store lives (see [`crate::open_for_serving`]).
    _lock: Option<std::fs::File>,
}

impl IndexedStore {
    /// Builds the index from every image and membership in `inner`.
    pub async fn build(inner: Arc<dyn Store>) -> Result<Self> {
        let mut index = Index::default();
        let members = inner.all_members().await?;
        let mut by_image: HashMap<ImageId, Vec<Member>> = HashMap::new();
        for m in members {
            by_image.entry(m.image_id).or_default().push(m);
        }
        let mut marker: Option<ImageId> = None;
        loop {
            let page = PageRequest::Offset { offset: 0, limit: SCAN_PAGE };
            let query = ImageQuery {
                filters: vec![],
                sort: vec![(SortKey::Id, SortDir::Asc)],
                page: marker.map_or(page, |m| PageRequest::After { marker: m, limit: SCAN_PAGE }),
                with_total: false,
            };
            let batch = inner.list_images(&AccessScope::everything(), &query).await?;
            for image in &batch.items {
                index.put(image, by_image.get(&image.id).map_or(&[], Vec::as_slice));
            }
            marker = batch.items.last().map(|i| i.id);
            if !batch.has_more {
                break;
            }
        }
        index.compact();
        Ok(Self {
            inner,
            index: RwLock::new(index),
            records: RwLock::default(),
            refresh: tokio::sync::Mutex::new(()),
            stale: AtomicBool::new(false),
            _lock: None,
        })
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
        let guard = self.index.read().map_err(|_| Error::Internal("read index lock poisoned".into()))?;
        Ok(f(&guard))
    }

    /// Re-reads `ids` from the store and puts their current state into the index.
    async fn refresh(&self, ids: &[ImageId]) {
        if ids.is_empty() {
            return;
        }
        let _serial = self.refresh.lock().await;
        self.apply(ids).await;
    }

    /// [`Self::refresh`] for a caller that holds the `refresh` lock. A failed re-read is
    /// retried twice before the index is given up (marked stale).
    async fn apply(&self, ids: &[ImageId]) {
        let mut found = self.current(ids).await;
        for _ in 0..2 {
            if found.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            found = self.current(ids).await;
        }
        match found {
            Ok(found) => match (self.index.write(), self.records.write()) {
                (Ok(mut index), Ok(mut records)) => {
                    records.generation += 1;
                    if records.map.len() + found.len() > RECORD_CACHE {
                        records.map.clear();
                    }
                    for id in ids {
                        index.remove(*id);
                        records.map.remove(id);
                    }
                    for (image, members) in found {
                        index.put(&image, &members);
                        if records.map.len() < RECORD_CACHE {
                            records.map.insert(image.id, Arc::new(image));
                        }
                    }
                }
                _ => self.mark_stale("lock poisoned"),
            },
            Err(e) => self.mark_stale(&e.log_detail()),
        }
    }

    /// The write counter of the caches, read together with an index answer.
    fn generation(&self) -> Result<u64> {
        Ok(self.records.read().map_err(|_| Error::Internal("record cache lock poisoned".into()))?.generation)
    }

    async fn current(&self, ids: &[ImageId]) -> Result<Vec<(Image, Vec<Member>)>> {
        let mut out = Vec::new();
        for image in self.inner.get_images(ids).await? {
            let members = self.inner.list_members(image.id).await?;
            out.push((image, members));
        }
        Ok(out)
    }

    fn mark_stale(&self, why: &str) {
        tracing::error!(why, "read index could not follow a write; queries go to the database until restart");
        self.stale.store(true, Ordering::Release);
    }

    /// Values for `ids` from one of the caches (`map`/`map_mut` pick it); the misses are
    /// read with `fetch` and cached, unless a write was applied meanwhile (the write
    /// counter moved), whose newer value must not be overwritten.
    async fn through_cache<K, V, Fut>(
        &self,
        ids: &[K],
        map: fn(&Records) -> &HashMap<K, V>,
        map_mut: fn(&mut Records) -> &mut HashMap<K, V>,
        fetch: impl FnOnce(Vec<K>) -> Fut,
    ) -> Result<HashMap<K, V>>
    where
        K: Copy + Eq + std::hash::Hash,
        V: Clone,
        Fut: std::future::Future<Output = Result<Vec<(K, V)>>>,
    {
        let poisoned = || Error::Internal("record cache lock poisoned".into());
        let (mut found, generation) = {
            let records = self.records.read().map_err(|_| poisoned())?;
            let cached = map(&records);
            let hits: HashMap<K, V> = ids.iter().filter_map(|id| cached.get(id).map(|v| (*id, v.clone()))).collect();
            (hits, records.generation)
        };
        let missing: Vec<K> = ids.iter().copied().filter(|id| !found.contains_key(id)).collect();
        if missing.is_empty() {
            return Ok(found);
        }
        let fetched = fetch(missing).await?;
        let mut records = self.records.write().map_err(|_| poisoned())?;
        let cache = records.generation == generation && self.usable();
        let cached = map_mut(&mut records);
        if cache && cached.len() + fetched.len() > RECORD_CACHE {
            cached.clear();
        }
        for (k, v) in fetched {
            if cache {
                cached.insert(k, v.clone());
            }
            found.insert(k, v);
        }
        Ok(found)
    }

    /// The records of `ids`, in that order (an id deleted meanwhile is left out).
    async fn records(&self, ids: &[ImageId]) -> Result<Vec<Image>> {
        let found = self
            .through_cache(
                ids,
                |r| &r.map,
                |r| &mut r.map,
                |missing| async move {
                    let images = self.inner.get_images(&missing).await?;
                    Ok(images.into_iter().map(|i| (i.id, Arc::new(i))).collect())
                },
            )
            .await?;
        Ok(ids.iter().filter_map(|id| found.get(id)).map(|r| Image::clone(r)).collect())
    }

    /// Forgets the cached metadata of `groups` after a write that may have changed it.
    async fn forget_metas(&self, groups: &[GroupId]) {
        let _serial = self.refresh.lock().await;
        match self.records.write() {
            Ok(mut records) => {
                records.generation += 1;
                for g in groups {
                    records.metas.remove(g);
                }
            }
            Err(_) => self.mark_stale("lock poisoned"),
        }
    }

    /// Group metadata from the cache, or from the store (then cached, as [`Self::records`]).
    async fn metas(&self, ids: &[GroupId]) -> Result<Vec<(GroupId, GroupMeta)>> {
        let found = self
            .through_cache(
                ids,
                |r| &r.metas,
                |r| &mut r.metas,
                |missing| async move {
                    let stored = self.inner.group_metas(&missing).await?;
                    Ok(missing
                        .iter()
                        .map(|id| (*id, stored.iter().find(|(g, _)| g == id).map(|(_, m)| m.clone())))
                        .collect())
                },
            )
            .await?;
        Ok(ids.iter().filter_map(|id| found.get(id).cloned().flatten().map(|m| (*id, m))).collect())
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
impl Store for IndexedStore {
    async fn insert_image(&self, image: &Image, group_read_me: Option<&str>) -> Result<()> {
        let r = self.inner.insert_image(image, group_read_me).await;
        if group_read_me.is_some() {
            self.forget_metas(&[image.group_id()]).await;
        }
        self.refresh(&[image.id]).await;
        r
    }

    async fn insert_images(&self, images: &[Image]) -> Result<()> {
        let r = self.inner.insert_images(images).await;
        let ids: Vec<ImageId> = images.iter().map(|i| i.id).collect();
        self.refresh(&ids).await;
        r
    }

    async fn insert_image_if_absent(&self, image: &Image) -> Result<bool> {
        let r = self.inner.insert_image_if_absent(image).await;
        self.refresh(&[image.id]).await;
        r
    }

    async fn get_image(&self, id: ImageId) -> Result<Option<Image>> {
        if !self.usable() {
            return self.inner.get_image(id).await;
        }
        Ok(self.records(&[id]).await?.pop())
    }

    async fn get_images(&self, ids: &[ImageId]) -> Result<Vec<Image>> {
        if !self.usable() {
            return self.inner.get_images(ids).await;
        }
        self.records(ids).await
    }

    async fn update_image(&self, image: &Image) -> Result<()> {
        let r = self.inner.update_image(image).await;
        self.refresh(&[image.id]).await;
        r
    }

    async fn add_member(&self, member: &Member) -> Result<()> {
        let r = self.inner.add_member(member).await;
        self.refresh(&[member.image_id]).await;
        r
    }

    async fn get_member(&self, image: ImageId, project: &ProjectId) -> Result<Option<Member>> {
        self.inner.get_member(image, project).await
    }

    async fn list_members(&self, image: ImageId) -> Result<Vec<Member>> {
        self.inner.list_members(image).await
    }

    async fn all_members(&self) -> Result<Vec<Member>> {
        self.inner.all_members().await
    }

    async fn update_member(&self, member: &Member) -> Result<()> {
        let r = self.inner.update_member(member).await;
        self.refresh(&[member.image_id]).await;
        r
    }

    async fn delete_member(&self, image: ImageId, project: &ProjectId) -> Result<bool> {
        let r = self.inner.delete_member(image, project).await;
        self.refresh(&[image]).await;
        r
    }

    async fn delete_image(&self, id: ImageId) -> Result<bool> {
        let r = self.inner.delete_image(id).await;
        self.refresh(&[id]).await;
        r
    }

    async fn list_images(&self, access: &AccessScope, query: &ImageQuery) -> Result<Page<Image>> {
        if !self.usable() {
            return self.inner.list_images(access, query).await;
        }
        for _ in 0..LIST_TRIES {
            // The page and the write counter are read under the index lock (a write bumps
            // the counter under it too), so the page belongs to that generation.
            let (page, generation) = {
                let index = self.index.read().map_err(|_| Error::Internal("read index lock poisoned".into()))?;
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
            // committed, its refresh not yet run): show it only if the caller may see it.
            let items = self.read_index(|index| {
                items.into_iter().filter(|i| access.admits(i, index.membership(i.id, &access.viewer))).collect()
            })?;
            return Ok(Page { items, total: query.with_total.then_some(page.total), has_more: page.has_more });
        }
        self.inner.list_images(access, query).await
    }

    async fn list_groups(&self, access: &AccessScope, query: &GroupQuery) -> Result<Page<ImageGroup>> {
        if !self.usable() {
            return self.inner.list_groups(access, query).await;
        }
        let page = self.read_index(|index| index.list_groups(access, query))?;
        Ok(Page { items: self.groups(page.items).await?, total: Some(page.total), has_more: page.has_more })
    }

    async fn get_group(&self, access: &AccessScope, id: GroupId) -> Result<Option<ImageGroup>> {
        if !self.usable() {
            return self.inner.get_group(access, id).await;
        }
        let Some(row) = self.read_index(|index| index.get_group(access, id))? else { return Ok(None) };
        Ok(self.groups(vec![row]).await?.pop())
    }

    async fn delete_group(&self, id: GroupId) -> Result<u64> {
        let mut ids = self.read_index(|index| index.group_members(id))?;
        let r = self.inner.delete_group(id).await;
        self.forget_metas(&[id]).await;
        // Images that joined the group in the index meanwhile (a register or rename whose
        // refresh read them before the delete committed) are re-read too: holding the
        // lock, every earlier refresh has been applied.
        let _serial = self.refresh.lock().await;
        ids.extend(self.read_index(|index| index.group_members(id))?);
        ids.sort_unstable();
        ids.dedup();
        self.apply(&ids).await;
        r
    }

    async fn put_group_meta(&self, id: GroupId, meta: &GroupMeta) -> Result<()> {
        let r = self.inner.put_group_meta(id, meta).await;
        self.forget_metas(&[id]).await;
        r
    }

    async fn group_metas(&self, ids: &[GroupId]) -> Result<Vec<(GroupId, GroupMeta)>> {
        if !self.usable() {
            return self.inner.group_metas(ids).await;
        }
        self.metas(ids).await
    }

    async fn insert_token(&self, token: &TokenRecord) -> Result<()> {
        self.inner.insert_token(token).await
    }

    async fn find_token(&self, hash: &str) -> Result<Option<TokenRecord>> {
        self.inner.find_token(hash).await
    }

    async fn insert_access_key(&self, key: &AccessKeyRecord) -> Result<()> {
        self.inner.insert_access_key(key).await
    }

    async fn find_access_key(&self, ak: &str) -> Result<Option<AccessKeyRecord>> {
        self.inner.find_access_key(ak).await
    }

    async fn list_access_keys(&self) -> Result<Vec<AccessKeyRecord>> {
        self.inner.list_access_keys().await
    }

    async fn revoke_access_key(&self, ak: &str, at: Millis) -> Result<bool> {
        self.inner.revoke_access_key(ak, at).await
    }

    async fn get_setting(&self, key: &str) -> Result<Option<String>> {
        self.inner.get_setting(key).await
    }

    async fn put_setting(&self, key: &str, value: &str) -> Result<()> {
        self.inner.put_setting(key, value).await
    }
}
