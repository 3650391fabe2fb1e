//! Whole records read recently (images, and group metadata), kept exactly as fresh as
//! the index: a write replaces the records it touched under the same serialization as
//! the index. Bounded caches with eviction (`quick_cache`'s CLOCK-Pro); the index itself
//! holds no display field, so a list page's records come from here or, on a miss, from
//! the store by primary key.
//!
//! `generation` counts the writes applied. A write holds the caches exclusively while it
//! changes the index and them; a reader that fetched misses from the store caches them
//! only if no write was applied meanwhile, so a record read while a write ran never
//! overwrites the write's newer one.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, RwLock, RwLockWriteGuard};

use imagehub_catalog::{Error, GroupId, GroupMeta, Image, ImageId, Result};
use quick_cache::UnitWeighter;
use quick_cache::unsync::Cache;

use crate::hashing::IdHashing;

/// The error of a lock that a panicking thread left poisoned.
pub(super) fn poisoned<T>(_: std::sync::PoisonError<T>) -> Error {
    Error::Internal("read index lock poisoned".into())
}

type IdCache<K, V> = Cache<K, V, UnitWeighter, IdHashing>;

fn id_cache<K: Eq + Hash, V>(capacity: usize) -> IdCache<K, V> {
    Cache::with(capacity, capacity as u64, UnitWeighter, IdHashing::default(), Default::default())
}

struct Caches {
    generation: u64,
    images: IdCache<ImageId, Arc<Image>>,
    /// Group metadata by group (`None`: the group has none).
    metas: IdCache<GroupId, Option<GroupMeta>>,
}

/// The caches behind one lock: a list page looks its records up under one read lock (a
/// lock per lookup, as `quick_cache::sync` takes one per shard, cost a list 2,000
/// instructions, 1.5% of it).
pub(super) struct Records(RwLock<Caches>);

/// A write to the caches in progress (held exclusively).
pub(super) struct RecordsWrite<'a>(RwLockWriteGuard<'a, Caches>);

impl Records {
    /// Caches of about `capacity` records and as many group metadata.
    pub(super) fn new(capacity: usize) -> Self {
        Self(RwLock::new(Caches { generation: 0, images: id_cache(capacity), metas: id_cache(capacity) }))
    }

    /// The write counter, read together with an index answer.
    pub(super) fn generation(&self) -> Result<u64> {
        Ok(self.0.read().map_err(poisoned)?.generation)
    }

    /// Begins a write: counts it, and holds out readers until it ends.
    pub(super) fn write(&self) -> Result<RecordsWrite<'_>> {
        let mut caches = self.0.write().map_err(poisoned)?;
        caches.generation += 1;
        Ok(RecordsWrite(caches))
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
        self.through(ids, cache, |c| &c.images, |c| &mut c.images, fetch).await
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
        self.through(ids, cache, |c| &c.metas, |c| &mut c.metas, fetch).await
    }

    async fn through<K, V, Fut>(
        &self,
        ids: &[K],
        cache: bool,
        map: fn(&Caches) -> &IdCache<K, V>,
        map_mut: fn(&mut Caches) -> &mut IdCache<K, V>,
        fetch: impl FnOnce(Vec<K>) -> Fut,
    ) -> Result<Vec<Option<V>>>
    where
        K: Copy + Eq + Hash,
        V: Clone,
        Fut: std::future::Future<Output = Result<Vec<(K, V)>>>,
    {
        let (mut found, generation) = {
            let caches = self.0.read().map_err(poisoned)?;
            let cached = map(&caches);
            (ids.iter().map(|id| cached.get(id).cloned()).collect::<Vec<_>>(), caches.generation)
        };
        let missing: Vec<K> = ids.iter().zip(&found).filter(|(_, hit)| hit.is_none()).map(|(id, _)| *id).collect();
        if missing.is_empty() {
            return Ok(found);
        }
        let fetched: HashMap<K, V, IdHashing> = fetch(missing).await?.into_iter().collect();
        {
            let mut caches = self.0.write().map_err(poisoned)?;
            if cache && caches.generation == generation {
                let cached = map_mut(&mut caches);
                for (k, v) in &fetched {
                    cached.insert(*k, v.clone());
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
    pub(super) fn put_image(&mut self, image: Arc<Image>) {
        self.0.images.insert(image.id, image);
    }

    pub(super) fn forget_image(&mut self, id: &ImageId) {
        self.0.images.remove(id);
    }

    pub(super) fn forget_meta(&mut self, id: &GroupId) {
        self.0.metas.remove(id);
    }

    /// Forgets every cached record (after the index was built afresh).
    pub(super) fn clear(&mut self) {
        self.0.images.clear();
        self.0.metas.clear();
    }
}
