//! Who is calling, what they may see, and the capability that mutating calls require.

use crate::error::{Error, Result};
use crate::ids::ProjectId;
use crate::image::{Image, ImageKind, Visibility};
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

    /// What this scope may read, as a store filter.
    pub fn access(&self) -> AccessScope {
        if self.caller.is_admin() { AccessScope::Everything } else { AccessScope::Project(self.project.clone()) }
    }

    /// Whether the caller may see `image`.
    pub fn can_see(&self, image: &Image) -> bool {
        self.access().admits(image)
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

/// The visibility rule as data, for the store to render into its queries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessScope {
    /// Administrators: every image.
    Everything,
    /// A project: its own images and public ones.
    Project(ProjectId),
}

impl AccessScope {
    /// The same rule evaluated in memory (used for single records and in tests).
    pub fn admits(&self, image: &Image) -> bool {
        match self {
            AccessScope::Everything => true,
            AccessScope::Project(p) => image.owner == *p || image.visibility == Visibility::Public,
        }
    }
}
