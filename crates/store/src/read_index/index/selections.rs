//! Kept selections: for each filter set a list asks, the rows of a [`Part`] that pass the
//! filters, in the default order (with how many are public, and once a group list asked,
//! their groups), followed as rows come and go. The parts are the public images, each
//! project's own images, and every image but the community ones (an administrator's
//! view). A row that comes or goes enters or leaves, in its place, the selections of the
//! parts it is in whose filters it passes ([`Index::follow_selections`]); the others stay
//! true, since a selection holds only rows of its part and its filters look at nothing
//! but the row. Beyond [`SELECTION_SLOTS`] every kept selection is dropped together.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use imagehub_catalog::{Filter, GroupSortKey, ImageId, SortDir, Visibility};

use super::groups::GroupAgg;
use super::{ByGroup, Index, Row, Slot, Sym};

/// The sets of rows a selection is kept for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Part {
    /// The public images of every owner.
    Public,
    /// A project's own images.
    Own(Sym),
    /// Every image but the community ones, of every owner.
    Every,
}

impl Part {
    /// The parts a row of `owner` with visibility `v` is in.
    fn holding(owner: Sym, v: Visibility) -> impl Iterator<Item = Part> {
        [
            Some(Part::Own(owner)),
            (v == Visibility::Public).then_some(Part::Public),
            (v != Visibility::Community).then_some(Part::Every),
        ]
        .into_iter()
        .flatten()
    }
}

/// Kept [`Selection`]s by filter set and part, and how many slots they hold in all.
#[derive(Default)]
pub(super) struct Selections {
    pub(super) by_filters: HashMap<Vec<Filter>, HashMap<Part, Arc<Selection>>>,
    pub(super) slots: usize,
}

/// The kept selections are dropped together when they hold more slots than this
/// (4 bytes each); the next lists select again.
pub(super) const SELECTION_SLOTS: usize = 8 << 20;

/// The rows of one part that pass a filter set, oldest first (a list reads them from the
/// end), how many are public, and, once a group list asked, their groups.
pub(super) struct Selection {
    pub(super) slots: Vec<Slot>,
    pub(super) public: u64,
    pub(super) groups: OnceLock<Vec<GroupAgg>>,
    /// Those groups' positions in each order a group list asked for.
    pub(super) group_orders: Mutex<HashMap<GroupSort, Arc<[u32]>>>,
    /// Those groups' positions by id, once a list asked for one of them.
    pub(super) group_index: OnceLock<ByGroup<u32>>,
    /// How many public rows come before each block of [`PUBLIC_BLOCK`] slots, once a deep
    /// page asked ([`Selection::public_before`]).
    pub(super) public_blocks: OnceLock<Vec<u32>>,
}

/// The slots of a block of [`Selection::public_blocks`].
pub(super) const PUBLIC_BLOCK: usize = 64;

/// What a kept group aggregate counts for against [`SELECTION_SLOTS`] (its size in slots).
pub(super) const GROUP_AGG_SLOTS: usize = std::mem::size_of::<GroupAgg>() / std::mem::size_of::<Slot>();

/// What an entry of a kept group index counts for against [`SELECTION_SLOTS`] (an id,
/// a position and the table's overhead, in slots).
pub(super) const GROUP_INDEX_SLOTS: usize = 8;

/// A group list's order (its sort keys).
pub(super) type GroupSort = Vec<(GroupSortKey, SortDir)>;

/// Whether a row comes into the index or goes ([`Index::follow_selections`]).
#[derive(Debug, Clone, Copy)]
pub(super) enum Move {
    In,
    Out,
}

impl Selection {
    /// A selection of `slots`, `public` of them public, with nothing derived yet.
    pub(super) fn new(slots: Vec<Slot>, public: u64) -> Self {
        Self {
            slots,
            public,
            groups: OnceLock::new(),
            group_orders: Mutex::default(),
            group_index: OnceLock::new(),
            public_blocks: OnceLock::new(),
        }
    }

    /// What it counts for against [`SELECTION_SLOTS`]: its slots and its kept groups.
    fn size(&self) -> usize {
        let orders = self.group_orders.lock().map_or(0, |o| o.values().map(|o| o.len()).sum());
        let index = self.group_index.get().map_or(0, |i| i.len() * GROUP_INDEX_SLOTS);
        let blocks = self.public_blocks.get().map_or(0, Vec::len);
        self.slots.len() + self.groups.get().map_or(0, |g| g.len() * GROUP_AGG_SLOTS) + orders + index + blocks
    }

    /// Forgets what was derived from the slots (after they changed).
    fn changed(&mut self) {
        self.groups = OnceLock::new();
        self.group_orders = Mutex::default();
        self.group_index = OnceLock::new();
        self.public_blocks = OnceLock::new();
    }

    /// How many of the first `n` slots hold public rows: the count before `n`'s block,
    /// then that block's rows up to `n`.
    pub(super) fn public_before(&self, index: &Index, n: usize) -> u64 {
        let is_public = |s: &Slot| index.row(*s).is_some_and(|r| r.visibility == Visibility::Public);
        let blocks = self.public_blocks.get_or_init(|| {
            let mut seen = 0u32;
            self.slots
                .chunks(PUBLIC_BLOCK)
                .map(|block| {
                    let before = seen;
                    seen += block.iter().filter(|s| is_public(s)).count() as u32;
                    before
                })
                .collect()
        });
        let n = n.min(self.slots.len());
        let block = n / PUBLIC_BLOCK;
        let before = blocks.get(block).copied().unwrap_or(0);
        let within = self.slots[block * PUBLIC_BLOCK..n].iter().filter(|s| is_public(s)).count();
        u64::from(before) + within as u64
    }
}

/// Rows in the default order, by slot.
pub(super) type Newest = BTreeSet<(Reverse<i64>, Reverse<ImageId>, Slot)>;

impl Index {
    pub(super) fn forget_selections(&mut self) {
        if let Ok(selections) = self.selections.get_mut() {
            *selections = Selections::default();
        }
    }

    /// Follows a row into (`Move::In`: it is in [`Index::rows`] already) or out of
    /// (`Move::Out`: it still is) the kept selections of the parts it is in
    /// ([`Part::holding`]): each one whose filters the row passes gains or loses its slot
    /// in its place, and its group aggregates go. A selection holds only rows of its part
    /// and its filters look at nothing but the row, so every other selection stays true.
    /// The slots are kept oldest first, so a new image is appended. Runs under the
    /// index's write lock, when no reader holds a selection; one still held elsewhere is
    /// dropped instead.
    pub(super) fn follow_selections(&mut self, slot: Slot, movement: Move) {
        let Ok(kept) = self.selections.get_mut() else { return };
        let mut kept = std::mem::take(kept);
        if let Some(row) = self.row(slot) {
            let key = |r: &Row| (r.created_at, r.id);
            let place = |slots: &[Slot]| slots.partition_point(|&s| self.row(s).is_some_and(|r| key(r) < key(row)));
            let mut budget = kept.slots;
            kept.by_filters.retain(|filters, by_part| {
                let mut tests = None;
                for part in Part::holding(row.owner, row.visibility) {
                    let Some(held) = by_part.get_mut(&part) else { continue };
                    let passes = tests.get_or_insert_with(|| self.compile_all(filters));
                    if !passes.as_ref().is_some_and(|t| self.passes_all(row, t)) {
                        continue;
                    }
                    let Some(selection) = Arc::get_mut(held) else {
                        budget = budget.saturating_sub(held.size());
                        by_part.remove(&part);
                        continue;
                    };
                    budget = budget.saturating_sub(selection.size());
                    let at = place(&selection.slots);
                    let public = u64::from(row.visibility == Visibility::Public);
                    match movement {
                        Move::In => {
                            selection.slots.insert(at, slot);
                            selection.public += public;
                        }
                        Move::Out if selection.slots.get(at) == Some(&slot) => {
                            selection.slots.remove(at);
                            selection.public -= public;
                        }
                        Move::Out => {}
                    }
                    selection.changed();
                    budget += selection.size();
                }
                !by_part.is_empty()
            });
            kept.slots = budget;
        }
        *self.selections.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner) = kept;
    }

    /// The rows of `part` that pass `passes`, oldest first: from [`Index::selections`]
    /// under `filters` and `key`, or selected now and kept there.
    pub(super) fn selection(
        &self,
        filters: &[Filter],
        key: Part,
        part: &Newest,
        passes: impl Fn(&Row) -> bool,
    ) -> Arc<Selection> {
        let kept = |s: &Selections| s.by_filters.get(filters).and_then(|parts| parts.get(&key)).cloned();
        if let Some(known) = self.selections.lock().ok().and_then(|s| kept(&s)) {
            return known;
        }
        let mut public = 0u64;
        let slots: Vec<Slot> = part
            .iter()
            .rev()
            .filter_map(|&(_, _, slot)| self.row(slot).filter(|r| passes(r)).map(|r| (slot, r.visibility)))
            .map(|(slot, v)| {
                public += u64::from(v == Visibility::Public);
                slot
            })
            .collect();
        let selection = Arc::new(Selection::new(slots, public));
        if let Ok(mut kept) = self.selections.lock() {
            if kept.slots + selection.slots.len() > SELECTION_SLOTS {
                *kept = Selections::default();
            }
            kept.slots += selection.slots.len();
            kept.by_filters.entry(filters.to_vec()).or_default().insert(key, selection.clone());
        }
        selection
    }
}
