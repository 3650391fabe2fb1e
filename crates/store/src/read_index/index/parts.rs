//! The access parts of a list ([`imagehub_catalog::AccessScope::parts`]) as the index
//! holds them. A project's own images and the public ones are kept selections
//! ([`super::selections`]); the community images and the shares are scanned. An
//! administrator's part is every image but other projects' community ones: the kept
//! selection of every non-community image, with its own community images (a kept
//! selection of its own part) or, when it asks for community images, every community
//! image (scanned, as for a project). The catalog decides what a part admits; this
//! module only walks the sets that hold it.

use std::sync::Arc;

use imagehub_catalog::{AccessPart, AccessScope, Filter, MemberRule, MemberStatus, Visibility};

use super::predicates::Test;
use super::selections::{Part, Selection};
use super::{Index, Row, SlotSet, Sym};

/// The parts of a list ([`AccessScope::parts`]) as the index holds them.
#[derive(Default)]
pub(super) struct Parts {
    /// Every non-community image (an administrator's view): kept.
    pub(super) every: bool,
    /// The viewer's own images (an administrator's: only its community ones): kept.
    pub(super) own: bool,
    /// Whether [`Parts::own`] holds only the viewer's community images.
    pub(super) own_community_only: bool,
    /// The public images: kept, the viewer's own skipped (they are in its own part).
    pub(super) public: bool,
    /// The community images: scanned, the viewer's own skipped when its own part holds them.
    pub(super) community: bool,
    /// The images shared with the viewer under this rule: scanned.
    pub(super) shared: Option<MemberRule>,
}

impl Parts {
    pub(super) fn of(access: &AccessScope, filters: &[Filter]) -> Self {
        let mut parts = Parts::default();
        for part in access.parts(filters) {
            match part {
                AccessPart::Every { community } => {
                    // What a visibility filter leaves of the administrator's view.
                    let asks = |v: Visibility| {
                        filters.iter().all(|f| !matches!(f, Filter::Visibility(vs) if !vs.contains(&v)))
                    };
                    parts.every = [Visibility::Public, Visibility::Private, Visibility::Shared].into_iter().any(asks);
                    let community_too = asks(Visibility::Community);
                    parts.community = community && community_too;
                    parts.own = !community && community_too;
                    parts.own_community_only = true;
                }
                AccessPart::Own => parts.own = true,
                AccessPart::Others(Visibility::Public) => parts.public = true,
                AccessPart::Others(Visibility::Community) => parts.community = true,
                AccessPart::SharedWith(rule) => parts.shared = Some(rule),
                // Private images are only ever the owner's (or in an administrator's part).
                AccessPart::Others(Visibility::Private | Visibility::Shared) => {}
            }
        }
        parts
    }
}

/// The kept parts of a list under a filter set ([`Index::kept_parts`]).
pub(super) struct Kept {
    /// The viewer's own part (for an administrator, its community images).
    pub(super) own: Option<Arc<Selection>>,
    /// The other owners' kept part: the public images, or every non-community image.
    pub(super) others: Option<Arc<Selection>>,
    /// Whether `others` holds the viewer's rows of `own` too (the public part holds the
    /// viewer's public images): they are skipped there, and counted once.
    pub(super) others_repeat_own: bool,
}

impl Kept {
    /// The rows of both parts, each once.
    pub(super) fn total(&self) -> u64 {
        let own = self.own.as_deref().map_or(0, |s| s.slots.len() as u64);
        let others = self.others.as_deref().map_or(0, |s| s.slots.len() as u64);
        let repeated = match (&self.own, self.others_repeat_own) {
            (Some(own), true) => own.public,
            _ => 0,
        };
        own + others.saturating_sub(repeated)
    }

    /// Whether a row of `others` is to be skipped (it is in `own` too).
    pub(super) fn skips(&self, r: &Row, viewer: Option<Sym>) -> bool {
        self.others_repeat_own && Some(r.owner) == viewer
    }
}

impl Index {
    /// Calls `f` with every row of a list's scanned parts that passes `tests`: the
    /// community images and the images shared with the viewer, of other owners as far as
    /// its own part is kept ([`Index::kept_parts`]).
    pub(super) fn for_each_scanned<'a>(
        &'a self,
        viewer: Option<Sym>,
        parts: &Parts,
        tests: &[Test],
        mut f: impl FnMut(&'a Row),
    ) {
        let mut f = |r: &'a Row| {
            if self.passes_all(r, tests) {
                f(r);
            }
        };
        let rows = |set: &'a SlotSet| set.iter().filter_map(|&s| self.row(s));
        if parts.community {
            let own_kept = parts.own && !parts.own_community_only;
            rows(&self.community).filter(|r| !own_kept || Some(r.owner) != viewer).for_each(&mut f);
        }
        if let (Some(v), Some(rule)) = (viewer, parts.shared) {
            self.member_of
                .get(&v)
                .into_iter()
                .flat_map(rows)
                .filter(|r| {
                    let part = AccessPart::SharedWith(rule);
                    part.holds(r.owner == v, r.visibility, Self::member_status(r, v))
                })
                .for_each(&mut f);
        }
    }

    /// A list's kept parts under a filter set: the selections of the viewer's own images
    /// (`None` when it has none) and of the public ones, or for an administrator of
    /// every non-community image and of its own community images.
    pub(super) fn kept_parts(&self, viewer: Option<Sym>, parts: &Parts, filters: &[Filter], tests: &[Test]) -> Kept {
        let passes = |r: &Row| self.passes_all(r, tests);
        let own = viewer.filter(|_| parts.own).and_then(|v| {
            let owned = self.owned_newest.get(&v)?;
            Some(if parts.own_community_only {
                // Kept under the filter set that says so, as a project's own list of
                // community images would be.
                let mut community = filters.to_vec();
                community.push(Filter::Visibility(vec![Visibility::Community]));
                self.selection(&community, Part::Own(v), owned, |r| r.visibility == Visibility::Community && passes(r))
            } else {
                self.selection(filters, Part::Own(v), owned, passes)
            })
        });
        let others = if parts.every {
            // An owner filter reads that owner's rows only.
            let owner = filters.iter().find_map(|f| match f {
                Filter::Owner(p) => Some(self.strings.find(p.as_str())),
                _ => None,
            });
            let empty = super::Newest::new();
            let source = match owner {
                Some(o) => o.and_then(|o| self.owned_newest.get(&o)).unwrap_or(&empty),
                None => &self.every_newest,
            };
            Some(self.selection(filters, Part::Every, source, |r| r.visibility != Visibility::Community && passes(r)))
        } else {
            parts.public.then(|| self.selection(filters, Part::Public, &self.public_newest, passes))
        };
        Kept { own, others, others_repeat_own: !parts.every }
    }

    /// Calls `f` with every row `access` admits that passes every filter, each once, in
    /// no order: the scanned parts and the kept parts.
    pub(super) fn for_each_selected<'a>(
        &'a self,
        access: &AccessScope,
        filters: &[Filter],
        mut f: impl FnMut(&'a Row),
    ) {
        let Some(tests) = self.compile_all(filters) else { return };
        let parts = Parts::of(access, filters);
        let viewer = self.strings.find(access.viewer().as_str());
        self.for_each_scanned(viewer, &parts, &tests, &mut f);
        let kept = self.kept_parts(viewer, &parts, filters, &tests);
        for r in kept.own.iter().flat_map(|s| s.slots.iter()).filter_map(|&s| self.row(s)) {
            f(r);
        }
        for r in kept.others.iter().flat_map(|s| s.slots.iter()).filter_map(|&s| self.row(s)) {
            if !kept.skips(r, viewer) {
                f(r);
            }
        }
    }

    /// The viewer's membership status on a row, if it is a member.
    pub(super) fn member_status(r: &Row, viewer: Sym) -> Option<MemberStatus> {
        r.cold.members.iter().find(|(m, _)| *m == viewer).map(|(_, s)| *s)
    }

    /// [`AccessScope::admits`] on a row.
    pub(super) fn admits(&self, access: &AccessScope, r: &Row) -> bool {
        let viewer = self.strings.find(access.viewer().as_str());
        let membership = match (r.visibility, viewer) {
            (Visibility::Shared, Some(v)) => Self::member_status(r, v),
            _ => None,
        };
        access.admits_facts(Some(r.owner) == viewer, r.visibility, membership)
    }
}
