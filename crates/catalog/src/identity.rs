//! The identity face's users and projects (Keystone v3): a password login proves a user,
//! and what it gets is an ordinary token for one project with the user's role there, so
//! it works on every face and is revoked, expires and is cached like every token.
//!
//! Passwords are hashed with argon2id (the `argon2` crate's default parameters: 19 MiB,
//! two passes), on the blocking pool and a few at a time, so logins cannot take the
//! runtime's workers or all of the machine's memory. Every refusal of a login reads the
//! same (wrong password, unknown user, disabled user, no role on the project), an unknown
//! user costs a hash like a known one, and the attempts of a user whose logins keep
//! failing are checked one at a time, further and further apart ([`crate::logins`]).

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::access::{Caller, Role};
use crate::credentials::{Grant, TokenState};
use crate::error::{Error, Result};
use crate::ids::{Millis, ProjectId};
use crate::ports::{ProjectRecord, UserRecord};
use crate::service::Catalog;
use crate::token;

/// The domain every project and user is in unless given another.
pub const DEFAULT_DOMAIN: &str = "Default";

/// Keystone's id of the default domain.
pub const DEFAULT_DOMAIN_ID: &str = "default";

/// Shortest password accepted when one is set (logins compare whatever they are given).
pub const MIN_PASSWORD_LEN: usize = 8;

/// Longest password or name accepted (a login with a longer one is refused unread).
const MAX_INPUT_LEN: usize = 1024;

/// The words of every refused login: which of its parts was wrong is not said.
const LOGIN_REFUSED: &str = "the user, the password or the project is not valid";

/// The id a domain name has (Keystone's `default` for [`DEFAULT_DOMAIN`]).
pub fn domain_id(name: &str) -> &str {
    if name == DEFAULT_DOMAIN { DEFAULT_DOMAIN_ID } else { name }
}

/// A domain as a request names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainRef {
    Id(String),
    Name(String),
}

impl DomainRef {
    /// The name of the domain this names (domains have no records: a domain's id is its
    /// name, except the default domain's, `default`).
    pub fn name(&self) -> &str {
        match self {
            DomainRef::Id(id) if id == DEFAULT_DOMAIN_ID => DEFAULT_DOMAIN,
            DomainRef::Id(s) | DomainRef::Name(s) => s,
        }
    }
}

/// A user or a project as a request names it: by id, or by name in a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named {
    Id(String),
    Name {
        name: String,
        domain: DomainRef,
    },
    /// A project by its name alone (Huawei IAM's logins): in a login's scope, in the
    /// user's domain; elsewhere in the default domain.
    NameInUserDomain(String),
}

/// Whether a name or id given in a request could be stored one: not empty, not longer
/// than [`MAX_INPUT_LEN`], no control characters (which PostgreSQL text cannot hold).
/// Anything else names nothing, without asking the store.
fn plausible(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_INPUT_LEN && !s.chars().any(char::is_control)
}

impl Named {
    fn plausible(&self) -> bool {
        match self {
            Named::Id(s) | Named::NameInUserDomain(s) => plausible(s),
            Named::Name { name, domain } => plausible(name) && plausible(domain.name()),
        }
    }
}

/// A password login (Keystone's `password` method).
#[derive(Debug, Clone)]
pub struct PasswordLogin {
    pub user: Named,
    pub password: String,
    /// The project to scope to; `None`: the user's default project.
    pub scope: Option<Named>,
}

/// A project as tokens show it: its record, or for a project only tokens name, its id
/// as its name in the default domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectView {
    pub id: ProjectId,
    pub name: String,
    pub domain: String,
}

impl ProjectView {
    /// A project without a record: named by its id, in the default domain.
    fn unnamed(id: ProjectId) -> Self {
        Self { name: id.as_str().to_owned(), id, domain: DEFAULT_DOMAIN.to_owned() }
    }
}

impl From<ProjectRecord> for ProjectView {
    fn from(p: ProjectRecord) -> Self {
        Self { id: p.id, name: p.name, domain: p.domain }
    }
}

/// The user a token was issued to, as tokens show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserView {
    pub id: String,
    pub name: String,
    pub domain: String,
}

impl From<&UserRecord> for UserView {
    fn from(u: &UserRecord) -> Self {
        Self { id: u.id.clone(), name: u.name.clone(), domain: u.domain.clone() }
    }
}

/// What a user's token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenDetails {
    pub user: UserView,
    pub project: ProjectView,
    pub role: Role,
    pub issued_at: Millis,
    pub expires_at: Option<Millis>,
}

/// A caller on the identity face: its scope, and the user its token was issued to.
#[derive(Debug, Clone)]
pub struct IdentityCaller {
    pub caller: Caller,
    pub user: Option<String>,
}

/// The argon2id hash of `password` in the PHC string format.
fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::Internal(format!("salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("password hash: {e}")))
}

/// Whether `password` is the one `hash` was made from (a malformed hash verifies nothing).
fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// The hash an unknown user's login is verified against, so that it costs what a known
/// user's does. Its password needs no secrecy (a login of no user is refused whatever
/// matches), so it is made once from fixed inputs, without randomness that could fail.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        // Neither step can fail on these inputs (a 19-byte salt, the default parameters);
        // the test below holds the result to a real argon2id hash.
        let salt = SaltString::encode_b64(b"imagehub decoy salt").ok();
        salt.and_then(|salt| Argon2::default().hash_password(b"no user has this", &salt).ok().map(|h| h.to_string()))
            .unwrap_or_default()
    })
}

/// Checks a name given to a user or a project: 1 to 255 characters, none of them control
/// characters, and not 32 hexadecimal digits (which read as an id).
fn check_name(what: &str, name: &str) -> Result<()> {
    let len = name.chars().count();
    if len == 0 || len > 255 || name.chars().any(char::is_control) || name.trim() != name {
        return Err(Error::invalid(format!(
            "a {what} name must be 1 to 255 characters, without control characters or surrounding spaces"
        )));
    }
    if ProjectId::parse(name).is_some() {
        return Err(Error::invalid(format!("a {what} name must not be 32 hexadecimal digits (that reads as an id)")));
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<()> {
    let len = domain.chars().count();
    if len == 0 || len > 64 || domain.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::invalid("a domain name must be 1 to 64 characters, without spaces or control characters"));
    }
    if domain != DEFAULT_DOMAIN && domain.eq_ignore_ascii_case(DEFAULT_DOMAIN_ID) {
        return Err(Error::invalid(format!(
            "{domain:?} would share the id {DEFAULT_DOMAIN_ID:?} of the domain {DEFAULT_DOMAIN}: use {DEFAULT_DOMAIN}"
        )));
    }
    Ok(())
}

/// Checks a password being set.
pub fn check_new_password(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_LEN || password.len() > MAX_INPUT_LEN {
        return Err(Error::invalid(format!(
            "a password must be {MIN_PASSWORD_LEN} to {MAX_INPUT_LEN} characters long"
        )));
    }
    Ok(())
}

fn refused() -> Error {
    Error::InvalidCredential(LOGIN_REFUSED.into())
}

impl Catalog {
    // ---- projects -------------------------------------------------------------------

    /// Creates a named project (`name` defaults to its id, `id` to a random one).
    pub async fn create_project(
        &self,
        name: Option<&str>,
        domain: Option<&str>,
        id: Option<ProjectId>,
    ) -> Result<ProjectRecord> {
        let id = match id {
            Some(id) => id,
            None => ProjectId::parse(&uuid::Uuid::new_v4().simple().to_string())
                .ok_or_else(|| Error::Internal("a random project id is not 32 hex digits".into()))?,
        };
        let name = match name {
            Some(n) if n != id.as_str() => {
                check_name("project", n)?;
                n.to_owned()
            }
            _ => id.as_str().to_owned(),
        };
        let domain = domain.unwrap_or(DEFAULT_DOMAIN);
        check_domain(domain)?;
        let record = ProjectRecord { id, name, domain: domain.to_owned(), created_at: Millis::now() };
        self.stores.identity.insert_project(&record).await.map_err(|e| match e {
            Error::Duplicate(_) => Error::Conflict(format!(
                "a project with the id {} or the name {:?} in domain {} exists already",
                record.id, record.name, record.domain
            )),
            other => other,
        })?;
        Ok(record)
    }

    pub async fn list_projects(&self) -> Result<Vec<ProjectRecord>> {
        self.stores.identity.list_projects().await
    }

    /// The project record `named` names, if there is one.
    pub async fn find_project(&self, named: &Named) -> Result<Option<ProjectRecord>> {
        if !named.plausible() {
            return Ok(None);
        }
        match named {
            Named::Id(id) => match ProjectId::parse(id) {
                Some(id) => self.stores.identity.get_project(&id).await,
                None => Ok(None),
            },
            Named::Name { name, domain } => self.stores.identity.find_project(domain.name(), name).await,
            Named::NameInUserDomain(name) => self.stores.identity.find_project(DEFAULT_DOMAIN, name).await,
        }
    }

    /// A project as tokens show it (one without a record is named by its id).
    pub async fn project_view(&self, id: &ProjectId) -> Result<ProjectView> {
        Ok(match self.stores.identity.get_project(id).await? {
            Some(p) => p.into(),
            None => ProjectView::unnamed(id.clone()),
        })
    }

    /// The project that `name_or_id` names in `domain` (administration: a name or an id).
    pub async fn project_by_name_or_id(&self, name_or_id: &str, domain: Option<&str>) -> Result<ProjectRecord> {
        let by_id = self.find_project(&Named::Id(name_or_id.to_owned())).await?;
        let domain = DomainRef::Name(domain.unwrap_or(DEFAULT_DOMAIN).to_owned());
        let found = match by_id {
            Some(p) => Some(p),
            None => self.find_project(&Named::Name { name: name_or_id.to_owned(), domain }).await?,
        };
        found.ok_or_else(|| {
            Error::NotFound(format!(
                "no project {name_or_id:?}: create it with `imagehub project create --name {name_or_id}`"
            ))
        })
    }

    // ---- users ----------------------------------------------------------------------

    /// Creates a user with `role` on `project`, its default project.
    pub async fn create_user(
        &self,
        name: &str,
        domain: Option<&str>,
        password: &str,
        project: &ProjectId,
        role: Role,
    ) -> Result<UserRecord> {
        check_name("user", name)?;
        let domain = domain.unwrap_or(DEFAULT_DOMAIN);
        check_domain(domain)?;
        check_new_password(password)?;
        if self.stores.identity.get_project(project).await?.is_none() {
            return Err(Error::NotFound(format!("no project {project}")));
        }
        let pw = password.to_owned();
        let password_hash = self.logins.hash(move || hash_password(&pw)).await??;
        let user = UserRecord {
            id: uuid::Uuid::new_v4().simple().to_string(),
            name: name.to_owned(),
            domain: domain.to_owned(),
            password_hash,
            enabled: true,
            default_project: Some(project.clone()),
            created_at: Millis::now(),
        };
        self.stores.identity.insert_user(&user, Some(role)).await.map_err(|e| match e {
            Error::Duplicate(_) => Error::Conflict(format!("a user named {name:?} exists in domain {domain} already")),
            other => other,
        })?;
        Ok(user)
    }

    pub async fn list_users(&self) -> Result<Vec<UserRecord>> {
        self.stores.identity.list_users().await
    }

    /// Every role assignment: (user id, project, role).
    pub async fn list_roles(&self) -> Result<Vec<(String, ProjectId, Role)>> {
        self.stores.identity.list_roles().await
    }

    /// The user record `named` names, if there is one.
    pub async fn find_user(&self, named: &Named) -> Result<Option<UserRecord>> {
        if !named.plausible() {
            return Ok(None);
        }
        match named {
            Named::Id(id) => self.stores.identity.get_user(id).await,
            Named::Name { name, domain } => self.stores.identity.find_user(domain.name(), name).await,
            Named::NameInUserDomain(name) => self.stores.identity.find_user(DEFAULT_DOMAIN, name).await,
        }
    }

    /// The user that `name_or_id` names in `domain` (administration).
    pub async fn user_by_name_or_id(&self, name_or_id: &str, domain: Option<&str>) -> Result<UserRecord> {
        if let Some(u) = self.find_user(&Named::Id(name_or_id.to_owned())).await? {
            return Ok(u);
        }
        let domain = DomainRef::Name(domain.unwrap_or(DEFAULT_DOMAIN).to_owned());
        self.find_user(&Named::Name { name: name_or_id.to_owned(), domain })
            .await?
            .ok_or_else(|| Error::NotFound(format!("no user {name_or_id:?}")))
    }

    /// Ends every token of `user` (for `project` only when given), on every node once
    /// this has answered.
    async fn end_tokens_of(&self, user: &str, project: Option<&ProjectId>) -> Result<()> {
        self.stores.credentials.revoke_user_tokens(user, project, Millis::now()).await?;
        // Even when none was left to revoke here: a revocation that raced this one may
        // have marked them, and this answer must not come before the tokens end.
        tokio::time::sleep(crate::CREDENTIAL_FRESHNESS).await;
        Ok(())
    }

    /// Sets a user's password; the tokens it had end.
    pub async fn set_password(&self, user: &UserRecord, password: &str) -> Result<()> {
        check_new_password(password)?;
        let pw = password.to_owned();
        let password_hash = self.logins.hash(move || hash_password(&pw)).await??;
        self.stores.identity.update_user(&UserRecord { password_hash, ..user.clone() }).await?;
        self.end_tokens_of(&user.id, None).await
    }

    /// Enables or disables a user; disabling ends its tokens.
    pub async fn set_user_enabled(&self, user: &UserRecord, enabled: bool) -> Result<()> {
        self.stores.identity.update_user(&UserRecord { enabled, ..user.clone() }).await?;
        if !enabled {
            self.end_tokens_of(&user.id, None).await?;
        }
        Ok(())
    }

    /// Deletes a user, its roles and its tokens; whether it existed.
    pub async fn delete_user(&self, user: &UserRecord) -> Result<bool> {
        // The tokens first: a user whose deletion failed halfway keeps no live token it
        // could not be deleted again to end. (A login in flight re-reads the user after
        // storing its token, and undoes it.)
        self.stores.credentials.revoke_user_tokens(&user.id, None, Millis::now()).await?;
        let existed = self.stores.identity.delete_user(&user.id).await?;
        self.end_tokens_of(&user.id, None).await?;
        Ok(existed)
    }

    /// Gives `user` `role` on `project` (replacing its role there); its tokens for the
    /// project end, as they carry the role they were issued with.
    pub async fn assign_role(&self, user: &UserRecord, project: &ProjectRecord, role: Role) -> Result<()> {
        self.stores.identity.put_role(&user.id, &project.id, role).await?;
        self.end_tokens_of(&user.id, Some(&project.id)).await
    }

    /// Takes `user`'s role on `project` away, and its tokens for the project; whether it
    /// had one.
    pub async fn unassign_role(&self, user: &UserRecord, project: &ProjectRecord) -> Result<bool> {
        let had = self.stores.identity.delete_role(&user.id, &project.id).await?;
        self.end_tokens_of(&user.id, Some(&project.id)).await?;
        Ok(had)
    }

    // ---- logins ---------------------------------------------------------------------

    /// A password login: a token for the project asked for (or the user's default
    /// project) with the user's role there, valid for `ttl_ms`.
    pub async fn password_login(&self, login: &PasswordLogin, ttl_ms: i64) -> Result<(String, TokenDetails)> {
        // A name no store holds is no user's: refused before it costs anything or is
        // remembered (which tells nothing of the users that exist).
        if login.password.len() > MAX_INPUT_LEN || !login.user.plausible() {
            return Err(refused());
        }
        let user = self.find_user(&login.user).await?;
        // A user that exists is keyed by its id (its two spellings share a count); one
        // that does not, by what was named, so that it behaves as one that does.
        let key = match (&user, &login.user) {
            (Some(u), _) => u.id.clone(),
            (None, Named::Id(id)) => format!("id:{id}"),
            (None, Named::Name { name, domain }) => format!("name:{}/{name}", domain.name()),
            (None, Named::NameInUserDomain(name)) => format!("name:{DEFAULT_DOMAIN}/{name}"),
        };
        let pass = match self.logins.admit(&key).await {
            Ok(pass) => pass,
            Err(crate::logins::Refusal::Queue) => {
                tracing::debug!(user = ?key, "a password login was refused unchecked: its user's queue is full");
                return Err(refused());
            }
            Err(crate::logins::Refusal::Full) => {
                tracing::warn!(user = ?key, "a password login was refused unchecked: the login throttle is full");
                return Err(refused());
            }
        };
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        let password = login.password.clone();
        let matches = self
            .logins
            .hash(move || match &hash {
                Some(h) => verify_password(h, &password),
                None => verify_password(decoy_hash(), &password),
            })
            .await?;
        let user = match user {
            Some(u) if matches && u.enabled => {
                pass.done(true);
                u
            }
            _ => {
                let failures = pass.done(false);
                let why = match &user {
                    None => "no such user",
                    Some(u) if !u.enabled => "the user is disabled",
                    Some(_) => "wrong password",
                };
                tracing::warn!(user = ?key, failures, why, "a password login was refused");
                return Err(refused());
            }
        };
        let project = self.scope_of(&user, login.scope.as_ref()).await?;
        self.issue_user_token(&user, project, "password", expiry(ttl_ms, None), None).await
    }

    /// A token for another project of the user a token was issued to (Keystone's `token`
    /// method); it expires no later than the token it was asked with. The token asked
    /// with is read from the store, not from the cache: one revoked a moment ago gives
    /// nothing.
    pub async fn rescope(&self, value: &str, scope: Option<&Named>, ttl_ms: i64) -> Result<(String, TokenDetails)> {
        let hash = token::hash(value);
        let record = self.stores.credentials.find_token(&hash).await?.ok_or_else(refused)?;
        if TokenState::of(&record, false, Millis::now()) != TokenState::Active {
            return Err(refused());
        }
        let user_id = record.user.as_deref().ok_or_else(refused)?;
        let user = self.stores.identity.get_user(user_id).await?.filter(|u| u.enabled).ok_or_else(refused)?;
        let project = match scope {
            Some(s) => self.scope_of(&user, Some(s)).await?,
            None => (record.project.clone(), self.role_on(&user, &record.project).await?),
        };
        self.issue_user_token(&user, project, "token", expiry(ttl_ms, record.expires_at), Some(&hash)).await
    }

    /// The project a login of `user` is scoped to, with the user's role there.
    async fn scope_of(&self, user: &UserRecord, scope: Option<&Named>) -> Result<(ProjectId, Role)> {
        let project = match scope {
            Some(named) => {
                let in_own_domain;
                let named = match named {
                    Named::NameInUserDomain(name) => {
                        in_own_domain =
                            Named::Name { name: name.clone(), domain: DomainRef::Name(user.domain.clone()) };
                        &in_own_domain
                    }
                    other => other,
                };
                match self.find_project(named).await? {
                    Some(p) => p.id,
                    None => {
                        tracing::warn!(user = %user.id, project = ?named, "a login asked for a project that does not exist");
                        return Err(refused());
                    }
                }
            }
            None => user.default_project.clone().ok_or_else(refused)?,
        };
        let role = self.role_on(user, &project).await?;
        Ok((project, role))
    }

    async fn role_on(&self, user: &UserRecord, project: &ProjectId) -> Result<Role> {
        self.stores.identity.role_of(&user.id, project).await?.ok_or_else(|| {
            tracing::warn!(user = %user.id, project = %project, "a login asked for a project the user has no role on");
            refused()
        })
    }

    /// Stores a token of `user` for `project` with `role`, then reads the user, its role
    /// and the token it was asked with (`parent`, a hash) again from the store: a change
    /// that ended the user's tokens while this login ran (a new password, disabling, a
    /// role taken away, the parent revoked) either committed before that read, which
    /// then sees it and undoes the token, or after the token was stored, when its own
    /// revocation ends it. The token was handed to no one yet, so undoing it needs no wait.
    async fn issue_user_token(
        &self,
        user: &UserRecord,
        (project, role): (ProjectId, Role),
        method: &str,
        expires_at: Millis,
        parent: Option<&str>,
    ) -> Result<(String, TokenDetails)> {
        let value = token::generate()?;
        let label = Some(format!("{method} login of {}/{}", user.domain, user.name));
        let grant = Grant { user: Some(user.id.clone()), ..Grant::new(project.clone(), role, label, Some(expires_at)) };
        self.store_token(&value, grant).await?;
        let now = Millis::now();
        let same_user = self
            .stores
            .identity
            .get_user(&user.id)
            .await?
            .is_some_and(|u| u.enabled && u.password_hash == user.password_hash);
        let same_role = same_user && self.stores.identity.role_of(&user.id, &project).await? == Some(role);
        let parent_active = match parent {
            Some(h) if same_role => self
                .stores
                .credentials
                .find_token(h)
                .await?
                .is_some_and(|t| TokenState::of(&t, false, now) == TokenState::Active),
            _ => same_role,
        };
        if !parent_active {
            self.stores.credentials.revoke_token(token::id_of(&token::hash(&value)), now).await?;
            tracing::warn!(user = %user.id, "a login was undone: its user changed while it ran");
            return Err(refused());
        }
        self.purge_expired_tokens();
        let details = TokenDetails {
            user: user.into(),
            project: self.project_view(&project).await?,
            role,
            issued_at: now,
            expires_at: Some(expires_at),
        };
        Ok((value, details))
    }

    /// What a user's token stands for, if it is active (Keystone's validation); `NotFound`
    /// for a token that is unknown, revoked, expired or not a user's.
    pub async fn token_details(&self, value: &str) -> Result<TokenDetails> {
        let not_found = || Error::NotFound("Could not find token".into());
        let record = self.token_record(&token::hash(value)).await?.ok_or_else(not_found)?;
        if TokenState::of(&record, false, Millis::now()) != TokenState::Active {
            return Err(not_found());
        }
        let user_id = record.user.as_deref().ok_or_else(not_found)?;
        let user = self.stores.identity.get_user(user_id).await?.ok_or_else(not_found)?;
        Ok(TokenDetails {
            user: (&user).into(),
            project: self.project_view(&record.project).await?,
            role: record.role,
            issued_at: record.created_at,
            expires_at: record.expires_at,
        })
    }

    /// Revokes the token with this value, on every node once this has answered; whether
    /// it was active.
    pub async fn revoke_token_value(&self, value: &str) -> Result<bool> {
        self.revoke_token(token::id_of(&token::hash(value))).await
    }

    /// The caller a token stands for, with the user it was issued to.
    pub async fn authenticate_identity(&self, value: &str) -> Result<IdentityCaller> {
        let caller = self.authenticate_token(value).await?;
        let user = self.token_record(&token::hash(value)).await?.and_then(|r| r.user.clone());
        Ok(IdentityCaller { caller, user })
    }
}

/// Who may read what of the identity records (Keystone's default policy, less what this
/// server does not serve): an administrator reads everything; anyone else reads its own
/// user, the project its token is scoped to and that project's domain, and the projects it
/// has a role on. A refusal names the rule (`identity:get_project`), as Keystone's does.
impl Catalog {
    fn policy(rule: &str) -> Error {
        Error::Forbidden(format!("identity:{rule}"))
    }

    fn admin_only(who: &IdentityCaller, rule: &str) -> Result<()> {
        if who.caller.is_admin() { Ok(()) } else { Err(Self::policy(rule)) }
    }

    /// What another token stands for (`GET`/`HEAD`/`DELETE /v3/auth/tokens`): a token
    /// of the caller's own user, or any for an administrator.
    pub async fn subject_token_for(&self, who: &IdentityCaller, value: &str) -> Result<TokenDetails> {
        let details = self.token_details(value).await?;
        if who.user.as_deref() != Some(details.user.id.as_str()) && !who.caller.is_admin() {
            return Err(Self::policy("validate_token"));
        }
        Ok(details)
    }

    /// A project record by id (`GET /v3/projects/{id}`).
    pub async fn show_project_for(&self, who: &IdentityCaller, id: &str) -> Result<ProjectView> {
        let pid = ProjectId::parse(id);
        let own = pid.as_ref() == Some(who.caller.project());
        if !own && !who.caller.is_admin() {
            return Err(Self::policy("get_project"));
        }
        match pid {
            Some(p) if own => Some(self.project_view(&p).await?),
            Some(p) => self.stores.identity.get_project(&p).await?.map(Into::into),
            None => None,
        }
        .ok_or_else(|| Error::NotFound(format!("Could not find project: {id}.")))
    }

    /// Projects by name and domain (`GET /v3/projects`): administrators only.
    pub async fn list_projects_for(
        &self,
        who: &IdentityCaller,
        name: Option<&str>,
        domain: Option<&DomainRef>,
    ) -> Result<Vec<ProjectRecord>> {
        Self::admin_only(who, "list_projects")?;
        let all = self.stores.identity.list_projects().await?;
        Ok(all.into_iter().filter(|p| selected(name, domain, &p.name, &p.domain)).collect())
    }

    /// A user record by id (`GET /v3/users/{id}`): one's own, or any for an administrator.
    pub async fn show_user_for(&self, who: &IdentityCaller, id: &str) -> Result<UserRecord> {
        if who.user.as_deref() != Some(id) && !who.caller.is_admin() {
            return Err(Self::policy("get_user"));
        }
        self.find_user(&Named::Id(id.to_owned()))
            .await?
            .ok_or_else(|| Error::NotFound(format!("Could not find user: {}.", id.escape_debug())))
    }

    /// Users by name and domain (`GET /v3/users`): administrators only.
    pub async fn list_users_for(
        &self,
        who: &IdentityCaller,
        name: Option<&str>,
        domain: Option<&DomainRef>,
    ) -> Result<Vec<UserRecord>> {
        Self::admin_only(who, "list_users")?;
        let all = self.stores.identity.list_users().await?;
        Ok(all.into_iter().filter(|u| selected(name, domain, &u.name, &u.domain)).collect())
    }

    /// The projects a user has a role on (`GET /v3/users/{id}/projects`).
    pub async fn projects_of_user_for(&self, who: &IdentityCaller, user: &str) -> Result<Vec<ProjectView>> {
        if who.user.as_deref() != Some(user) && !who.caller.is_admin() {
            return Err(Self::policy("list_user_projects"));
        }
        let roles = self.stores.identity.list_roles().await?;
        let mut records: std::collections::HashMap<ProjectId, ProjectRecord> =
            self.stores.identity.list_projects().await?.into_iter().map(|p| (p.id.clone(), p)).collect();
        Ok(roles
            .into_iter()
            .filter(|(u, _, _)| u == user)
            .map(|(_, project, _)| match records.remove(&project) {
                Some(p) => p.into(),
                None => ProjectView::unnamed(project),
            })
            .collect())
    }

    /// The projects the caller may scope to (`GET /v3/auth/projects`): its user's, or for
    /// a token no user was issued, the token's project.
    pub async fn auth_projects_for(&self, who: &IdentityCaller) -> Result<Vec<ProjectView>> {
        match &who.user {
            Some(user) => self.projects_of_user_for(who, user).await,
            None => Ok(vec![self.project_view(who.caller.project()).await?]),
        }
    }

    /// The names of the domains a caller may read (`GET /v3/domains`), by `name` when
    /// given: its project's, or for an administrator every domain a project or a user is in.
    pub async fn domains_for(&self, who: &IdentityCaller, name: Option<&str>) -> Result<Vec<String>> {
        let mut names = std::collections::BTreeSet::new();
        if who.caller.is_admin() {
            names.insert(DEFAULT_DOMAIN.to_owned());
            names.extend(self.stores.identity.list_projects().await?.into_iter().map(|p| p.domain));
            names.extend(self.stores.identity.list_users().await?.into_iter().map(|u| u.domain));
        } else {
            names.insert(self.project_view(who.caller.project()).await?.domain);
        }
        Ok(names.into_iter().filter(|d| name.is_none_or(|n| n == d)).collect())
    }

    /// One domain by id (`GET /v3/domains/{id}`), if the caller may read it.
    pub async fn domain_for(&self, who: &IdentityCaller, id: &str) -> Result<String> {
        let name = DomainRef::Id(id.to_owned());
        let found = self.domains_for(who, Some(name.name())).await?;
        found
            .into_iter()
            .find(|d| domain_id(d) == id)
            .ok_or_else(|| Error::NotFound(format!("Could not find domain: {id}.")))
    }
}

/// Whether a record named `rec_name` in `rec_domain` passes a list's `name` and domain
/// filters.
fn selected(name: Option<&str>, domain: Option<&DomainRef>, rec_name: &str, rec_domain: &str) -> bool {
    name.is_none_or(|n| rec_name == n) && domain.is_none_or(|d| rec_domain == d.name())
}

/// When a token issued now for `ttl_ms` expires, no later than `cap`.
fn expiry(ttl_ms: i64, cap: Option<Millis>) -> Millis {
    let e = crate::credentials::expiry_after(ttl_ms);
    cap.map_or(e, |c| Millis(e.0.min(c.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "correct horse"));
        assert!(!verify_password(&h, "correct horsE"));
        assert!(!verify_password("not a hash", "correct horse"));
        assert!(decoy_hash().starts_with("$argon2id$"), "the decoy costs a real verification");
        assert!(!verify_password(decoy_hash(), ""));
    }

    #[test]
    fn names_and_passwords_are_checked() {
        assert!(check_name("user", "alice").is_ok());
        assert!(check_name("user", "").is_err());
        assert!(check_name("user", " alice").is_err());
        assert!(check_name("user", "a\nb").is_err());
        assert!(check_name("project", "0123456789abcdef0123456789abcdef").is_err());
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("long enough").is_ok());
        let p = crate::secrets::new_password().unwrap();
        assert_eq!(p.len(), 24);
        assert!(check_new_password(&p).is_ok());
    }

    #[test]
    fn domain_ids_and_names() {
        assert_eq!(domain_id(DEFAULT_DOMAIN), "default");
        assert_eq!(domain_id("Other"), "Other");
        assert_eq!(DomainRef::Id("default".into()).name(), DEFAULT_DOMAIN);
        assert_eq!(DomainRef::Name("Other".into()).name(), "Other");
    }
}
