//! Kept selections: for each filter set a list asks, the rows of the public part and of
//! each project's own part that pass the filters, newest first (with how many are public,
//! and once a group list asked, their groups), kept until a change reaches that part. A
//! row that comes, goes or changes drops the selections of its owner's part and, if it
//! is or was public, those of the public part; the others stay true, since a selection
//! holds only rows of its part and its filters look at nothing but the row. Beyond
//! [`SELECTION_SLOTS`] every kept selection is dropped together.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};

use imagehub_catalog::{Filter, ImageId, Visibility};

use super::groups::GroupAgg;
use super::{Index, Row, Slot, Sym};

/// Kept [`Selection`]s by filter set and part, and how many slots they hold in all.
#[derive(Default)]
pub(super) struct Selections {
    pub(super) by_filters: HashMap<Vec<Filter>, HashMap<Option<Sym>, Arc<Selection>>>,
    pub(super) slots: usize,
}

/// The kept selections are dropped together when they hold more slots than this
/// (4 bytes each); the next lists select again.
pub(super) const SELECTION_SLOTS: usize = 8 << 20;

/// The rows of one part that pass a filter set, newest first, how many are public,
/// and, once a group list asked, their groups.
pub(super) struct Selection {
    pub(super) slots: Vec<Slot>,
    pub(super) public: u64,
    pub(super) groups: OnceLock<Vec<GroupAgg>>,
}

/// What a kept group aggregate counts for against [`SELECTION_SLOTS`] (its size in slots).
pub(super) const GROUP_AGG_SLOTS: usize = std::mem::size_of::<GroupAgg>() / std::mem::size_of::<Slot>();

/// Rows in the default order, by slot.
pub(super) type Newest = BTreeSet<(Reverse<i64>, Reverse<ImageId>, Slot)>;

impl Index {
    pub(super) fn forget_selections(&mut self) {
        if let Ok(selections) = self.selections.get_mut() {
            *selections = Selections::default();
        }
    }

    /// Forgets the kept selections of the parts a row of `owner` and visibility `v`
    /// belongs to, as it comes or goes: its owner's own part and, for a public row, the
    /// public part. A selection holds only rows of its part and its filters look at
    /// nothing but the row, so every other selection stays true. (A group aggregate
    /// computed from a selection already forgotten may still count against the budget
    /// until the next full drop: the budget only errs on the early side.)
    pub(super) fn forget_selections_of(&mut self, owner: Sym, v: Visibility) {
        let Ok(kept) = self.selections.get_mut() else { return };
        let parts = [Some(Some(owner)), (v == Visibility::Public).then_some(None)];
        let mut freed = 0;
        kept.by_filters.retain(|_, by_part| {
            for part in parts.iter().flatten() {
                if let Some(gone) = by_part.remove(part) {
                    freed += gone.slots.len() + gone.groups.get().map_or(0, |g| g.len() * GROUP_AGG_SLOTS);
                }
            }
            !by_part.is_empty()
        });
        kept.slots = kept.slots.saturating_sub(freed);
    }

    /// The rows of `part` that pass `passes`, newest first: from [`Index::selections`]
    /// under `filters` and `key`, or selected now and kept there.
    pub(super) fn selection(
        &self,
        filters: &[Filter],
        key: Option<Sym>,
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
            .filter_map(|&(_, _, slot)| self.row(slot).filter(|r| passes(r)).map(|r| (slot, r.visibility)))
            .map(|(slot, v)| {
                public += u64::from(v == Visibility::Public);
                slot
            })
            .collect();
        let selection = Arc::new(Selection { slots, public, groups: OnceLock::new() });
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
