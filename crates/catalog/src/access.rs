//! Who is calling, what they may see, and the capability that mutating calls require.

use crate::error::{Error, Result};
use crate::ids::ProjectId;
use crate::image::{Image, ImageKind, MemberStatus, Visibility};
use crate::query::Filter;
use crate::words::word_enum;

word_enum! {
    /// A token's role. `admin` is a cloud administrator: it sees and manages every project.
    pub enum Role { Admin => "admin", Member => "member", Reader => "reader" }
}

word_enum! {
    /// Who a policy lets do something: administrators only, or members (and administrators).
    pub enum PolicyRule { Admin => "admin", Member => "member" }
}

/// The operator's choices of who may make an image visible beyond its project (Glance's
/// `publicize_image` and `communitize_image` policies); an image's owner changes only
/// through an administrator, whatever this says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Who may make an image `public` (ModelArts PUBLIC).
    pub publicize: PolicyRule,
    /// Who may make an image `community`.
    pub communitize: PolicyRule,
}

impl Default for Policy {
    /// Members may do both: ModelArts offers PUBLIC to its users.
    fn default() -> Self {
        Self { publicize: PolicyRule::Member, communitize: PolicyRule::Member }
    }
}

impl Policy {
    /// Whether `writer` may give an image `to` when it had `from` (`None`: a new image).
    pub(crate) fn check_visibility(&self, writer: &Writer<'_>, from: Option<Visibility>, to: Visibility) -> Result<()> {
        let (rule, name) = match to {
            Visibility::Public => (self.publicize, "publicize_image"),
            Visibility::Community => (self.communitize, "communitize_image"),
            _ => return Ok(()),
        };
        if from == Some(to) || rule == PolicyRule::Member || writer.scope.caller.is_admin() {
            return Ok(());
        }
        Err(Error::Forbidden(format!("Policy doesn't allow {name} to be performed.")))
    }
}

/// An authenticated caller. Only the catalog creates one (from a verified credential).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    project: ProjectId,
    role: Role,
}

impl Caller {
    pub(crate) fn new(project: ProjectId, role: Role) -> Self {
        Self { project, role }
    }

    pub fn project(&self) -> &ProjectId {
        &self.project
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// A caller acting in one project (the path's project on ModelArts, its own elsewhere).
/// Obtained from [`crate::Catalog::in_project`] or [`crate::Catalog::own_project`], which
/// check that the caller may act there.
#[derive(Debug, Clone)]
pub struct Scope {
    caller: Caller,
    project: ProjectId,
}

impl Scope {
    pub(crate) fn new(caller: Caller, project: ProjectId) -> Self {
        Self { caller, project }
    }

    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// The project the call acts in (owner of what it creates).
    pub fn project(&self) -> &ProjectId {
        &self.project
    }

    /// The access rule of this scope's lists under `view` (built here, from a verified
    /// caller: nothing else makes one).
    pub fn access(&self, view: View) -> AccessScope {
        AccessScope {
            viewer: self.project.clone(),
            admin: self.caller.is_admin(),
            members: view.members,
            community: view.community,
        }
    }

    /// What this scope may read one at a time: everything it may list under any view.
    pub(crate) fn show_access(&self) -> AccessScope {
        self.access(View { members: MemberRule::Any, community: true })
    }

    /// The capability to change the catalog; readers do not get one.
    pub fn writer(&self) -> Result<Writer<'_>> {
        match self.caller.role {
            Role::Admin | Role::Member => Ok(Writer { scope: self }),
            Role::Reader => Err(Error::Forbidden("a reader token cannot change the catalog".into())),
        }
    }
}

/// Proof that the caller passed the write check. Every mutating catalog call takes one,
/// so a forgotten check does not compile. It cannot be built outside this module.
#[derive(Debug, Clone, Copy)]
pub struct Writer<'a> {
    scope: &'a Scope,
}

impl<'a> Writer<'a> {
    pub fn scope(&self) -> &'a Scope {
        self.scope
    }

    /// Whether this writer may change or delete `image` (which it can already see).
    pub(crate) fn check_may_modify(&self, image: &Image) -> Result<()> {
        let caller = &self.scope.caller;
        if caller.is_admin() {
            return Ok(());
        }
        if image.kind == ImageKind::BuiltIn {
            return Err(Error::Forbidden("built-in images can only be changed by an administrator".into()));
        }
        if image.owner != self.scope.project {
            return Err(Error::Forbidden(format!("image {} belongs to another project", image.id)));
        }
        Ok(())
    }
}

/// Which shares of other projects a viewer sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberRule {
    /// Shares whose membership has this status.
    Status(MemberStatus),
    /// Shares in any status.
    Any,
}

/// What a list shows of other projects' images beyond the default: which shares (Glance's
/// `member_status`) and whether community images (`visibility=community|all`). A face
/// asks for a view; the catalog builds the [`AccessScope`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    pub members: MemberRule,
    pub community: bool,
}

impl View {
    /// Every face's default: accepted shares, no community images of other projects.
    pub const DEFAULT: View = View { members: MemberRule::Status(MemberStatus::Accepted), community: false };
}

impl Default for View {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The visibility rule of one list, as data, for the stores to translate into their
/// queries. Only the catalog builds one ([`Scope::access`]), from a verified caller.
///
/// A project sees: its own images; public images; `shared` images it is a member of
/// (per `members`); and, when `community` is set, every community image. An admin sees
/// everything, except other projects' community images unless `community` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessScope {
    viewer: ProjectId,
    admin: bool,
    members: MemberRule,
    community: bool,
}

/// One of the disjoint parts that an [`AccessScope`] admits, each of them what a store
/// can reach through one index of its own ([`AccessScope::parts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessPart {
    /// The viewer's own images, whatever their visibility.
    Own,
    /// Other projects' images of this visibility (`Public` or `Community`).
    Others(Visibility),
    /// Other projects' `shared` images the viewer is a member of, under the rule.
    SharedWith(MemberRule),
    /// Every image (an administrator's view); other projects' community images only
    /// with `community`.
    Every { community: bool },
}

impl AccessPart {
    /// Whether an image with these facts is in this part: whether the viewer owns it, its
    /// visibility, and the viewer's membership status (if it is a member).
    pub fn holds(&self, own: bool, visibility: Visibility, membership: Option<MemberStatus>) -> bool {
        match *self {
            AccessPart::Own => own,
            AccessPart::Others(v) => !own && visibility == v,
            AccessPart::SharedWith(rule) => !own && visibility == Visibility::Shared && rule.admits(membership),
            AccessPart::Every { community } => own || community || visibility != Visibility::Community,
        }
    }
}

impl MemberRule {
    /// Whether a membership in status `membership` (`None`: not a member) is admitted.
    pub fn admits(self, membership: Option<MemberStatus>) -> bool {
        match (self, membership) {
            (_, None) => false,
            (MemberRule::Any, Some(_)) => true,
            (MemberRule::Status(want), Some(got)) => want == got,
        }
    }
}

impl AccessScope {
    /// The project whose view this is.
    pub fn viewer(&self) -> &ProjectId {
        &self.viewer
    }

    pub fn is_admin(&self) -> bool {
        self.admin
    }

    /// The disjoint parts of what this scope admits that `filters` leave anything of:
    /// an administrator's one part ([`AccessPart::Every`]); for a project its own images,
    /// other projects' public (and, with `community`, community) images, and the shares
    /// its member rule admits, without the parts that a visibility or owner filter among
    /// `filters` rules out. Stores translate parts; they decide nothing about access.
    pub fn parts(&self, filters: &[Filter]) -> Vec<AccessPart> {
        if self.admin {
            return vec![AccessPart::Every { community: self.community }];
        }
        let mut own = true;
        let mut others = vec![Visibility::Public, Visibility::Shared, Visibility::Community];
        for f in filters {
            match f {
                Filter::Visibility(vs) => others.retain(|v| vs.contains(v)),
                Filter::Owner(p) if *p == self.viewer => others.clear(),
                Filter::Owner(_) => own = false,
                _ => {}
            }
        }
        if !self.community {
            others.retain(|v| *v != Visibility::Community);
        }
        let mut parts = Vec::with_capacity(4);
        if own {
            parts.push(AccessPart::Own);
        }
        parts.extend(others.into_iter().map(|v| match v {
            Visibility::Shared => AccessPart::SharedWith(self.members),
            other => AccessPart::Others(other),
        }));
        parts
    }

    /// The same rule evaluated in memory; `membership` is the viewer's membership status for
    /// this image, if it is a member.
    pub fn admits(&self, image: &Image, membership: Option<MemberStatus>) -> bool {
        self.admits_facts(image.owner == self.viewer, image.visibility, membership)
    }

    /// The same rule on the facts it reads: whether the viewer owns the image, its
    /// visibility, and the viewer's membership status (read indexes keep these in their
    /// own form).
    pub fn admits_facts(&self, own: bool, visibility: Visibility, membership: Option<MemberStatus>) -> bool {
        if own {
            return true;
        }
        if visibility == Visibility::Community {
            return self.community;
        }
        if self.admin {
            return true;
        }
        match visibility {
            Visibility::Public => true,
            Visibility::Shared => self.members.admits(membership),
            Visibility::Private | Visibility::Community => false,
        }
    }
}

impl AccessScope {
    /// The catalog's own view for its housekeeping (every image, whoever owns it).
    pub(crate) fn housekeeping() -> Self {
        Self { viewer: ProjectId::system(), admin: true, members: MemberRule::Any, community: true }
    }
}

/// Scopes made without a caller, for the stores' own tests (feature `testing`).
#[cfg(feature = "testing")]
impl AccessScope {
    /// Any rule.
    pub fn for_tests(viewer: ProjectId, admin: bool, members: MemberRule, community: bool) -> Self {
        Self { viewer, admin, members, community }
    }

    /// A project's default view.
    pub fn project(viewer: ProjectId) -> Self {
        Self::for_tests(viewer, false, View::DEFAULT.members, false)
    }

    /// An administrator's view that hides nothing.
    pub fn everything() -> Self {
        Self::for_tests(ProjectId::system(), true, MemberRule::Any, true)
    }

    /// This rule with another member rule and community choice.
    pub fn with_view(mut self, view: View) -> Self {
        self.members = view.members;
        self.community = view.community;
        self
    }

    /// The same rule for an administrator (`true`) or a project.
    pub fn as_admin(mut self, admin: bool) -> Self {
        self.admin = admin;
        self
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn project(n: u8) -> ProjectId {
        ProjectId::parse(&format!("{n:032x}")).unwrap_or_else(ProjectId::system)
    }

    fn visibility() -> impl Strategy<Value = Visibility> {
        prop::sample::select(Visibility::ALL.to_vec())
    }

    fn membership() -> impl Strategy<Value = Option<MemberStatus>> {
        prop::option::of(prop::sample::select(MemberStatus::ALL.to_vec()))
    }

    fn rule() -> impl Strategy<Value = MemberRule> {
        prop_oneof![
            Just(MemberRule::Any),
            prop::sample::select(MemberStatus::ALL.to_vec()).prop_map(MemberRule::Status)
        ]
    }

    /// The filters [`AccessScope::parts`] looks at: visibility sets and owners (the viewer,
    /// project 1, or project 2).
    fn filters() -> impl Strategy<Value = Vec<Filter>> {
        let one = prop_oneof![
            prop::collection::vec(visibility(), 0..4).prop_map(Filter::Visibility),
            (1u8..3).prop_map(|n| Filter::Owner(project(n))),
            Just(Filter::Owner(project(0))),
        ];
        prop::collection::vec(one, 0..3)
    }

    proptest! {
        /// The parts of a scope are disjoint, and together with the filters they admit
        /// exactly what the rule and the filters admit, for every image: the stores, which
        /// translate parts, list what `admits_facts` says.
        #[test]
        fn parts_are_the_rule(
            admin in any::<bool>(),
            community in any::<bool>(),
            members in rule(),
            owner in 0u8..3,
            vis in visibility(),
            membership in membership(),
            filters in filters(),
        ) {
            let access = AccessScope { viewer: project(0), admin, members, community };
            let own = owner == 0;
            let pass = filters.iter().all(|f| match f {
                Filter::Visibility(vs) => vs.contains(&vis),
                Filter::Owner(p) => *p == project(owner),
                _ => true,
            });
            let holding = access.parts(&filters).iter().filter(|p| p.holds(own, vis, membership)).count();
            prop_assert!(holding <= 1, "parts overlap");
            prop_assert_eq!(holding == 1 && pass, access.admits_facts(own, vis, membership) && pass);
        }
    }

    #[test]
    fn filters_leave_out_the_parts_they_exclude() {
        let access = AccessScope { viewer: project(0), admin: false, members: MemberRule::Any, community: true };
        assert_eq!(access.parts(&[]).len(), 4);
        assert_eq!(access.parts(&[Filter::Owner(project(0))]), [AccessPart::Own]);
        assert_eq!(
            access.parts(&[Filter::Owner(project(1)), Filter::Visibility(vec![Visibility::Public])]),
            [AccessPart::Others(Visibility::Public)]
        );
        let default = AccessScope { community: false, members: View::DEFAULT.members, ..access };
        assert_eq!(
            default.parts(&[]),
            [
                AccessPart::Own,
                AccessPart::Others(Visibility::Public),
                AccessPart::SharedWith(MemberRule::Status(MemberStatus::Accepted))
            ]
        );
    }
}
