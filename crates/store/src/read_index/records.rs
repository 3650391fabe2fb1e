//! Whole records read recently (images, and group metadata), kept exactly as fresh as
//! the index: a write replaces the records it touched under the same serialization as
//! the index. Bounded caches with eviction (`quick_cache`'s CLOCK-Pro); the index itself
//! holds no display field, so a list page's records come from here or, on a miss, from
//! the store by primary key.
//!
//! `generation` counts the writes applied. A write holds it exclusively while it changes
//! the index and these caches; a reader that fetched misses from the store holds it
//! shared while it checks that no write was applied meanwhile and caches them, so a
//! record read while a write ran never overwrites the write's newer one.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, RwLock, RwLockWriteGuard};

use imagehub_catalog::{Error, GroupId, GroupMeta, Image, ImageId, Result};
use quick_cache::UnitWeighter;
use quick_cache::sync::Cache;

use crate::hashing::IdHashing;

/// The error of a lock that a panicking thread left poisoned.
pub(super) fn poisoned<T>(_: std::sync::PoisonError<T>) -> Error {
    Error::Internal("read index lock poisoned".into())
}

type IdCache<K, V> = Cache<K, V, UnitWeighter, IdHashing>;

fn id_cache<K: Eq + Hash, V: Clone>(capacity: usize) -> IdCache<K, V> {
    Cache::with(capacity, capacity as u64, UnitWeighter, IdHashing::default(), Default::default())
}

pub(super) struct Records {
    images: IdCache<ImageId, Arc<Image>>,
    /// Group metadata by group (`None`: the group has none).
    metas: IdCache<GroupId, Option<GroupMeta>>,
    generation: RwLock<u64>,
}

/// A write to the caches in progress (the generation held exclusively).
pub(super) struct RecordsWrite<'a> {
    records: &'a Records,
    _generation: RwLockWriteGuard<'a, u64>,
}

impl Records {
    /// Caches of about `capacity` records and as many group metadata.
    pub(super) fn new(capacity: usize) -> Self {
        Self { images: id_cache(capacity), metas: id_cache(capacity), generation: RwLock::new(0) }
    }

    /// The write counter, read together with an index answer.
    pub(super) fn generation(&self) -> Result<u64> {
        Ok(*self.generation.read().map_err(poisoned)?)
    }

    /// Begins a write: counts it, and holds out readers' caching until it ends.
    pub(super) fn write(&self) -> Result<RecordsWrite<'_>> {
        let mut generation = self.generation.write().map_err(poisoned)?;
        *generation += 1;
        Ok(RecordsWrite { records: self, _generation: generation })
    }

    /// The records of `ids`, in their order (`None` where the store has none): cached
    /// ones, and the misses read with `fetch` (then cached, if `cache` and no write was
    /// applied meanwhile).
    pub(super) async fn images<Fut>(
        &self,
        ids: &[ImageId],
        cache: bool,
        fetch: impl FnOnce(Vec<ImageId>) -> Fut,
    ) -> Result<Vec<Option<Arc<Image>>>>
    where
        Fut: std::future::Future<Output = Result<Vec<(ImageId, Arc<Image>)>>>,
    {
        self.through(&self.images, ids, cache, fetch).await
    }

    /// Group metadata, as [`Records::images`].
    pub(super) async fn metas<Fut>(
        &self,
        ids: &[GroupId],
        cache: bool,
        fetch: impl FnOnce(Vec<GroupId>) -> Fut,
    ) -> Result<Vec<Option<Option<GroupMeta>>>>
    where
        Fut: std::future::Future<Output = Result<Vec<(GroupId, Option<GroupMeta>)>>>,
    {
        self.through(&self.metas, ids, cache, fetch).await
    }

    async fn through<K, V, Fut>(
        &self,
        map: &IdCache<K, V>,
        ids: &[K],
        cache: bool,
        fetch: impl FnOnce(Vec<K>) -> Fut,
    ) -> Result<Vec<Option<V>>>
    where
        K: Copy + Eq + Hash,
        V: Clone,
        Fut: std::future::Future<Output = Result<Vec<(K, V)>>>,
    {
        let generation = self.generation()?;
        let mut found: Vec<Option<V>> = ids.iter().map(|id| map.get(id)).collect();
        let missing: Vec<K> = ids.iter().zip(&found).filter(|(_, hit)| hit.is_none()).map(|(id, _)| *id).collect();
        if missing.is_empty() {
            return Ok(found);
        }
        let fetched: HashMap<K, V, IdHashing> = fetch(missing).await?.into_iter().collect();
        {
            let now = self.generation.read().map_err(poisoned)?;
            if cache && *now == generation {
                for (k, v) in &fetched {
                    map.insert(*k, v.clone());
                }
            }
        }
        for (id, slot) in ids.iter().zip(found.iter_mut()) {
            if slot.is_none() {
                *slot = fetched.get(id).cloned();
            }
        }
        Ok(found)
    }
}

impl RecordsWrite<'_> {
    /// Caches `image` as the current record of its id.
    pub(super) fn put_image(&self, image: Arc<Image>) {
        self.records.images.insert(image.id, image);
    }

    pub(super) fn forget_image(&self, id: &ImageId) {
        self.records.images.remove(id);
    }

    pub(super) fn forget_meta(&self, id: &GroupId) {
        self.records.metas.remove(id);
    }

    /// Forgets every cached record (after the index was built afresh).
    pub(super) fn clear(&self) {
        self.records.images.clear();
        self.records.metas.clear();
    }
}
