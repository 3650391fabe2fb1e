//! Credentials: tokens and access keys. A [`Caller`] exists only after one of them was
//! verified here; access-key secrets never leave this module.
//!
//! Credentials read from the store are kept in memory for at most
//! [`CREDENTIAL_FRESHNESS`], measured from when their read began: a token used by many
//! requests costs one read per that interval. A revocation (or any change of a credential)
//! answers only that long after its commit, so once it has answered, no node uses the
//! credential again: each node's copy was read either after the commit or longer ago than
//! the bound allows. Unknown credentials are not kept (nothing to fill memory with).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::access::{Caller, Role, Scope};
use crate::error::{Error, Result};
use crate::ids::{Millis, ProjectId};
use crate::ports::{AccessKeyRecord, TokenRecord};
use crate::secrets::{self, MasterKey};
use crate::service::{Catalog, MAX_CLOCK_SKEW_MS};
use crate::token;

/// How long a credential read from the store is used before it is read again, and how
/// long a revocation waits after its commit before it answers.
///
/// 100 ms: a revocation (a rare, human act) answers a tenth of a second late, and a node
/// re-reads a busy credential ten times a second, which costs nothing measurable (at 10 ms
/// the concurrent re-reads of every expiry showed in the request's instruction count).
pub const CREDENTIAL_FRESHNESS: Duration = Duration::from_millis(100);

/// How often, at most, a token's last use is written to the store.
const LAST_USE_EVERY_MS: i64 = 60_000;

/// Most credentials of each kind kept in memory (the cache is emptied when full).
const CACHE_MAX: usize = 65_536;

const SETTING_MASTER_CHECK: &str = "master_key_check";

/// How long an expired token stays listed before a login's purge deletes it.
const EXPIRED_TOKENS_KEPT_MS: i64 = 7 * 86_400_000;

/// How often, at most, a process purges long-expired tokens.
const PURGE_EVERY_MS: i64 = 3_600_000;

/// Whether a token is accepted, and if not why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    Active,
    /// Revoked, or issued by an access key that was revoked (or is gone).
    Revoked,
    Expired,
}

impl TokenState {
    /// The state of `t` at `now`; `key_revoked`: whether the access key that issued it is
    /// revoked or gone. The token's own revocation reads before its expiry, which reads
    /// before its key's revocation.
    pub fn of(t: &TokenRecord, key_revoked: bool, now: Millis) -> Self {
        if t.revoked_at.is_some() {
            TokenState::Revoked
        } else if t.expires_at.is_some_and(|e| e <= now) {
            TokenState::Expired
        } else if key_revoked {
            TokenState::Revoked
        } else {
            TokenState::Active
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TokenState::Active => "active",
            TokenState::Revoked => "revoked",
            TokenState::Expired => "expired",
        }
    }
}

/// What a new token stands for (its record, less what storing it sets).
pub(crate) struct Grant {
    pub project: ProjectId,
    pub role: Role,
    pub label: Option<String>,
    pub expires_at: Option<Millis>,
    pub issued_by: Option<String>,
    pub user: Option<String>,
}

impl Grant {
    /// A token for `project` with `role`, issued by no access key to no user.
    pub fn new(project: ProjectId, role: Role, label: Option<String>, expires_at: Option<Millis>) -> Self {
        Self { project, role, label, expires_at, issued_by: None, user: None }
    }
}

/// Credentials read recently, with when their read began.
#[derive(Default)]
pub(crate) struct CredentialCache {
    tokens: RwLock<HashMap<String, (Arc<TokenRecord>, Instant)>>,
    keys: RwLock<HashMap<String, (Arc<AccessKeyRecord>, Instant)>>,
    /// When this process last purged long-expired tokens (ms since the epoch).
    purged_at: std::sync::atomic::AtomicI64,
}

/// The value under `key`, if it was read less than [`CREDENTIAL_FRESHNESS`] ago.
fn fresh<T>(map: &RwLock<HashMap<String, (Arc<T>, Instant)>>, key: &str) -> Option<Arc<T>> {
    let map = map.read().ok()?;
    map.get(key).filter(|(_, at)| at.elapsed() < CREDENTIAL_FRESHNESS).map(|(v, _)| v.clone())
}

fn keep<T>(map: &RwLock<HashMap<String, (Arc<T>, Instant)>>, key: &str, value: Arc<T>, read_at: Instant) {
    if let Ok(mut map) = map.write() {
        if map.len() >= CACHE_MAX {
            map.clear();
        }
        map.insert(key.to_owned(), (value, read_at));
    }
}

/// The value under `key`: the copy in `map` if it is fresh, else what `read` gives (kept,
/// with when the read began). `read` is called only on a miss (making the store's future
/// allocates).
async fn cached<T, F: std::future::Future<Output = Result<Option<T>>>>(
    map: &RwLock<HashMap<String, (Arc<T>, Instant)>>,
    key: &str,
    read: impl FnOnce() -> F,
) -> Result<Option<Arc<T>>> {
    if let Some(v) = fresh(map, key) {
        return Ok(Some(v));
    }
    let read_at = Instant::now();
    let found = read().await?.map(Arc::new);
    if let Some(v) = &found {
        keep(map, key, v.clone(), read_at);
    }
    Ok(found)
}

/// A duration given to a token (`--expires-in`) as milliseconds from now.
pub fn expiry_after(ms: i64) -> Millis {
    Millis(Millis::now().0.saturating_add(ms))
}

impl Catalog {
    /// Enables access keys, whose secrets this master key seals. The first key used with a
    /// database is recorded (as a check value); another one is refused, so nodes sharing a
    /// database cannot silently disagree.
    pub async fn with_master_key(mut self, key: MasterKey) -> Result<Self> {
        let check = key.check_value();
        match self.stores.settings.get_setting(SETTING_MASTER_CHECK).await? {
            None => self.stores.settings.put_setting(SETTING_MASTER_CHECK, &check).await?,
            Some(stored) if stored == check => {}
            Some(_) => {
                return Err(Error::invalid(
                    "this master key is not the one this database's access keys were sealed with \
                     (every node must use the same IMAGEHUB_MASTER_KEY / master key file)",
                ));
            }
        }
        self.master = Some(key);
        Ok(self)
    }

    fn master(&self) -> Result<&MasterKey> {
        self.master.as_ref().ok_or_else(|| Error::Internal("access keys need a master key".into()))
    }

    // ---- tokens ---------------------------------------------------------------------

    /// The token record of `hash`: a fresh copy, or read now.
    pub(crate) async fn token_record(&self, hash: &str) -> Result<Option<Arc<TokenRecord>>> {
        cached(&self.credentials.tokens, hash, || self.stores.credentials.find_token(hash)).await
    }

    /// The access key record of `ak`: a fresh copy, or read now.
    async fn access_key_record(&self, ak: &str) -> Result<Option<Arc<AccessKeyRecord>>> {
        cached(&self.credentials.keys, ak, || self.stores.credentials.find_access_key(ak)).await
    }

    /// Resolves a token value to its caller. A revoked token, one whose issuing access
    /// key was revoked, and an unknown one are refused alike; an expired one says so.
    pub async fn authenticate_token(&self, value: &str) -> Result<Caller> {
        if value.is_empty() {
            return Err(Error::Unauthenticated);
        }
        let refused = || Error::InvalidCredential("the token is invalid or unknown".into());
        let hash = token::hash(value);
        let Some(record) = self.token_record(&hash).await? else { return Err(refused()) };
        let now = Millis::now();
        let key_revoked = match &record.issued_by {
            Some(ak) => self.access_key_record(ak).await?.is_none_or(|key| key.revoked_at.is_some()),
            None => false,
        };
        match TokenState::of(&record, key_revoked, now) {
            TokenState::Active => {}
            TokenState::Revoked => return Err(refused()),
            TokenState::Expired => return Err(Error::CredentialExpired("the token has expired".into())),
        }
        if record.last_used_at.is_none_or(|at| now.0.saturating_sub(at.0) >= LAST_USE_EVERY_MS) {
            // When a token was last used is for its owner to read: it is written in the
            // background, so that it neither waits for the store's writer nor refuses the
            // request when the store fails, and noted in the cache first, so that the
            // store is not asked again before the copy is read anew.
            if let Ok(mut cache) = self.credentials.tokens.write()
                && let Some((t, _)) = cache.get_mut(&hash)
            {
                Arc::make_mut(t).last_used_at = Some(now);
            }
            let store = self.stores.credentials.clone();
            tokio::spawn(async move {
                if let Err(e) = store.touch_token(&hash, now).await {
                    tracing::debug!(error = %e, "a token's last use was not recorded");
                }
            });
        }
        Ok(Caller::new(record.project.clone(), record.role))
    }

    /// Issues a token for a project (administration; the plain value is returned once),
    /// expiring at `expires_at` (never: `None`).
    pub async fn create_token(
        &self,
        project: &ProjectId,
        role: Role,
        label: Option<String>,
        expires_at: Option<Millis>,
    ) -> Result<String> {
        let value = token::generate()?;
        self.store_token(&value, Grant::new(project.clone(), role, label, expires_at)).await?;
        Ok(value)
    }

    /// Issues a token for a caller that proved itself with access key `issued_by` (SCNet's
    /// login), valid for `ttl_ms`; revoking the key ends it.
    pub async fn issue_token(
        &self,
        caller: &Caller,
        ttl_ms: i64,
        label: Option<String>,
        issued_by: &str,
    ) -> Result<(String, Millis)> {
        let value = token::generate()?;
        let expires = expiry_after(ttl_ms);
        let (project, role) = (caller.project(), caller.role());
        let grant =
            Grant { issued_by: Some(issued_by.to_owned()), ..Grant::new(project.clone(), role, label, Some(expires)) };
        self.store_token(&value, grant).await?;
        self.purge_expired_tokens();
        Ok((value, expires))
    }

    /// Deletes the tokens that expired more than [`EXPIRED_TOKENS_KEPT_MS`] ago, at most
    /// once per [`PURGE_EVERY_MS`] per process: every login issues one, and `token list`
    /// shows an expired one for a week before it goes. In the background, best effort
    /// (the next login an hour later tries again).
    pub(crate) fn purge_expired_tokens(&self) {
        let now = Millis::now();
        let last = self.credentials.purged_at.load(std::sync::atomic::Ordering::Relaxed);
        if now.0.saturating_sub(last) < PURGE_EVERY_MS
            || self
                .credentials
                .purged_at
                .compare_exchange(
                    last,
                    now.0,
                    std::sync::atomic::Ordering::Relaxed,
                    std::sync::atomic::Ordering::Relaxed,
                )
                .is_err()
        {
            return;
        }
        let store = self.stores.credentials.clone();
        tokio::spawn(async move {
            match store.delete_tokens_expired_before(Millis(now.0 - EXPIRED_TOKENS_KEPT_MS)).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(tokens = n, "deleted tokens that expired more than a week ago"),
                Err(e) => tracing::warn!(error = %e, "cannot delete long-expired tokens"),
            }
        });
    }

    pub(crate) async fn store_token(&self, value: &str, grant: Grant) -> Result<()> {
        let record = TokenRecord {
            hash: token::hash(value),
            project: grant.project,
            role: grant.role,
            created_at: Millis::now(),
            label: grant.label,
            expires_at: grant.expires_at,
            revoked_at: None,
            issued_by: grant.issued_by,
            last_used_at: None,
            user: grant.user,
        };
        self.stores.credentials.insert_token(&record).await.map_err(|e| match e {
            Error::Duplicate(_) => Error::Conflict("this token exists already".into()),
            other => other,
        })
    }

    /// Every token (never a token's value: only its hash is kept), oldest first.
    pub async fn list_tokens(&self) -> Result<Vec<TokenRecord>> {
        self.stores.credentials.list_tokens().await
    }

    /// Every token with its state (the rule [`Catalog::authenticate_token`] applies),
    /// oldest first.
    pub async fn list_tokens_with_state(&self) -> Result<Vec<(TokenRecord, TokenState)>> {
        let revoked_keys: std::collections::HashSet<String> = self
            .stores
            .credentials
            .list_access_keys()
            .await?
            .into_iter()
            .filter(|k| k.revoked_at.is_some())
            .map(|k| k.ak)
            .collect();
        let now = Millis::now();
        Ok(self
            .list_tokens()
            .await?
            .into_iter()
            .map(|t| {
                let key_revoked = t.issued_by.as_ref().is_some_and(|k| revoked_keys.contains(k));
                let state = TokenState::of(&t, key_revoked, now);
                (t, state)
            })
            .collect())
    }

    /// Revokes the token with this id ([`TokenRecord::id`]); it is refused on every node
    /// once this has answered. Returns whether an active token had the id.
    pub async fn revoke_token(&self, id: &str) -> Result<bool> {
        let revoked = self.stores.credentials.revoke_token(id, Millis::now()).await?;
        tokio::time::sleep(CREDENTIAL_FRESHNESS).await;
        Ok(revoked)
    }

    // ---- access keys ----------------------------------------------------------------

    /// Creates an access key pair for a project; the secret is returned once.
    pub async fn create_access_key(
        &self,
        project: &ProjectId,
        role: Role,
        label: Option<String>,
    ) -> Result<(String, String)> {
        let ak = secrets::new_access_key_id()?;
        let sk = secrets::new_secret_key()?;
        let record = AccessKeyRecord {
            sealed_secret: self.master()?.seal(&ak, sk.as_bytes())?,
            ak: ak.clone(),
            project: project.clone(),
            role,
            created_at: Millis::now(),
            revoked_at: None,
            label,
        };
        self.stores.credentials.insert_access_key(&record).await?;
        Ok((ak, sk))
    }

    pub async fn list_access_keys(&self) -> Result<Vec<AccessKeyRecord>> {
        self.stores.credentials.list_access_keys().await
    }

    /// Revokes an access key, and with it the tokens its logins issued; both are refused
    /// on every node once this has answered.
    pub async fn revoke_access_key(&self, ak: &str) -> Result<bool> {
        let revoked = self.stores.credentials.revoke_access_key(ak, Millis::now()).await?;
        tokio::time::sleep(CREDENTIAL_FRESHNESS).await;
        Ok(revoked)
    }

    /// The caller an access key stands for, once the request it signed verifies.
    /// `signed_at` is the time the request names; `verify` checks the signature with the
    /// key's secret, which never leaves the catalog (it may read what it checks, such as
    /// a request body, only then: nothing of a request with an unknown key or a stale
    /// time is read). An unknown or revoked key and a signature that does not verify are
    /// refused with the same words; a request time more than [`MAX_CLOCK_SKEW_MS`] from
    /// the server's clock is refused before the key is looked up.
    pub async fn authenticate_signed(
        &self,
        access_key: &str,
        signed_at: Millis,
        verify: impl AsyncFnOnce(&[u8]) -> Result<bool>,
    ) -> Result<Caller> {
        let now = Millis::now();
        if signed_at.0.abs_diff(now.0) > MAX_CLOCK_SKEW_MS.unsigned_abs() {
            return Err(Error::SignatureInvalid(format!(
                "the request time is more than {} minutes from the server time",
                MAX_CLOCK_SKEW_MS / 60_000
            )));
        }
        let refused = || Error::SignatureInvalid("the access key or the signature is not valid".into());
        let Some(key) = self.access_key_record(access_key).await? else { return Err(refused()) };
        if key.revoked_at.is_some() {
            return Err(refused());
        }
        let secret = self.master()?.open(&key.ak, &key.sealed_secret)?;
        if !verify(&secret).await? {
            return Err(refused());
        }
        Ok(Caller::new(key.project.clone(), key.role))
    }

    // ---- scopes ---------------------------------------------------------------------

    /// The caller acting in the project a request names (ModelArts' path project).
    /// Another project than the caller's is refused unless the caller is an administrator.
    pub fn in_project(&self, caller: &Caller, project: &str) -> Result<Scope> {
        let Some(project) = ProjectId::parse(project) else {
            return Err(Error::invalid(format!("project_id {project:?} is not 32 lowercase hexadecimal characters")));
        };
        if project != *caller.project() && !caller.is_admin() {
            return Err(Error::ProjectMismatch(format!(
                "project {project} in the request does not match the credentials' project"
            )));
        }
        Ok(Scope::new(caller.clone(), project))
    }

    /// The caller acting in its own project (faces without a project in the path).
    pub fn own_project(&self, caller: &Caller) -> Scope {
        Scope::new(caller.clone(), caller.project().clone())
    }
}
