//! The access parts of a list ([`imagehub_catalog::AccessScope::parts`]) as the index
//! holds them: the viewer's own and the public images are kept selections
//! ([`super::selections`]); the community images and the shares are scanned; an
//! administrator's part is every row. The catalog decides what a part admits; this
//! module only walks the sets that hold it.

use std::sync::Arc;

use imagehub_catalog::{AccessPart, AccessScope, Filter, MemberRule, MemberStatus, Visibility};

use super::predicates::Test;
use super::selections::Selection;
use super::{Index, Row, SlotSet, Sym};

/// The parts of a list ([`AccessScope::parts`]) as the index holds them: the kept
/// selections of the viewer's own images and of the public ones, the scanned community
/// and shared sets, or every row (an administrator's view).
#[derive(Default)]
pub(super) struct Parts {
    pub(super) every: Option<AccessPart>,
    pub(super) own: bool,
    pub(super) public: bool,
    pub(super) community: bool,
    pub(super) shared: Option<MemberRule>,
}

impl Parts {
    pub(super) fn of(access: &AccessScope, filters: &[Filter]) -> Self {
        let mut parts = Parts::default();
        for part in access.parts(filters) {
            match part {
                AccessPart::Every { .. } => parts.every = Some(part),
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

impl Index {
    /// Calls `f` with every row of a project's scanned parts that passes `tests`: the
    /// community images and the images shared with it, of other owners, as far as
    /// `parts` holds them (its own and the public images are selected from kept parts,
    /// [`Index::kept_parts`]).
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
            rows(&self.community).filter(|r| Some(r.owner) != viewer).for_each(&mut f);
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

    /// A project's kept parts under a filter set: the selections of its own images and of
    /// the public ones, as far as `parts` holds them (`None` for the own part when the
    /// project has no image). The public selection holds the project's own public images
    /// too.
    pub(super) fn kept_parts(
        &self,
        viewer: Option<Sym>,
        parts: &Parts,
        filters: &[Filter],
        tests: &[Test],
    ) -> (Option<Arc<Selection>>, Option<Arc<Selection>>) {
        let passes = |r: &Row| self.passes_all(r, tests);
        let own = viewer
            .filter(|_| parts.own)
            .and_then(|v| Some(self.selection(filters, Some(v), self.owned_newest.get(&v)?, passes)));
        let public = parts.public.then(|| self.selection(filters, None, &self.public_newest, passes));
        (own, public)
    }

    /// Calls `f` with every row `access` admits that passes every filter, each once, in
    /// no order: every row for an administrator; for a project, its scanned parts and its
    /// kept parts.
    pub(super) fn for_each_selected<'a>(
        &'a self,
        access: &AccessScope,
        filters: &[Filter],
        mut f: impl FnMut(&'a Row),
    ) {
        let Some(tests) = self.compile_all(filters) else { return };
        let parts = Parts::of(access, filters);
        let viewer = self.strings.find(access.viewer().as_str());
        if let Some(every) = parts.every {
            for r in self.rows.iter().flatten() {
                if every.holds(Some(r.owner) == viewer, r.visibility, None) && self.passes_all(r, &tests) {
                    f(r);
                }
            }
            return;
        }
        self.for_each_scanned(viewer, &parts, &tests, &mut f);
        let (own, public) = self.kept_parts(viewer, &parts, filters, &tests);
        for r in own.iter().flat_map(|s| s.slots.iter()).filter_map(|&s| self.row(s)) {
            f(r);
        }
        for r in public.iter().flat_map(|s| s.slots.iter()).filter_map(|&s| self.row(s)) {
            if Some(r.owner) != viewer {
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
