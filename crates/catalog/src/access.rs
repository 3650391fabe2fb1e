//! Who is calling, what they may see, and the capability that mutating calls require.

use crate::error::{Error, Result};
use crate::ids::ProjectId;
use crate::image::{Image, ImageKind, MemberStatus, Visibility};
use crate::words::word_enum;

word_enum! {
    /// A token's role. `admin` is a cloud administrator: it sees and manages every project.
    pub enum Role { Admin => "admin", Member => "member", Reader => "reader" }
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

    /// What this scope lists by default: its own images, public ones, and images shared
    /// with it that it accepted; other projects' community images are left out.
    pub fn access(&self) -> AccessScope {
        self.list_access(MemberRule::Status(MemberStatus::Accepted), false)
    }

    /// The list rule with an explicit member-status rule and community choice (Glance's
    /// `member_status` and `visibility=community|all`).
    pub fn list_access(&self, members: MemberRule, community: bool) -> AccessScope {
        AccessScope { viewer: self.project.clone(), admin: self.caller.is_admin(), members, community }
    }

    /// What this scope may read one at a time: everything it may list under any rule.
    pub fn show_access(&self) -> AccessScope {
        self.list_access(MemberRule::Any, true)
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberRule {
    /// Shares whose membership has this status.
    Status(MemberStatus),
    /// Shares in any status.
    Any,
}

/// The visibility rule as data, for the store to render into its queries.
///
/// A project sees: its own images; public images; `shared` images it is a member of
/// (per `members`); and, when `community` is set, every community image. An admin sees
/// everything, except other projects' community images unless `community` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessScope {
    pub viewer: ProjectId,
    pub admin: bool,
    pub members: MemberRule,
    pub community: bool,
}

impl AccessScope {
    /// An administrator's view that hides nothing.
    pub fn everything() -> Self {
        Self { viewer: ProjectId::system(), admin: true, members: MemberRule::Any, community: true }
    }

    /// A project's default list view.
    pub fn project(p: ProjectId) -> Self {
        Self { viewer: p, admin: false, members: MemberRule::Status(MemberStatus::Accepted), community: false }
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
            Visibility::Shared => self.admits_member(membership),
            Visibility::Private | Visibility::Community => false,
        }
    }

    /// Whether a shared image whose member the viewer is with `membership` (`None`: not
    /// a member) is admitted by the member rule.
    pub fn admits_member(&self, membership: Option<MemberStatus>) -> bool {
        match (self.members, membership) {
            (_, None) => false,
            (MemberRule::Any, Some(_)) => true,
            (MemberRule::Status(want), Some(got)) => want == got,
        }
    }
}
