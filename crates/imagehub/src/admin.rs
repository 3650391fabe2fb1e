//! The administrative commands: tokens, access keys, projects, users and roles, migrations. Each opens the catalog
//! that exists already (or, with `--create`, makes it) and exits.

use anyhow::Context;
use imagehub_catalog::{Catalog, Millis, ProjectId, Role};

use crate::AdminArgs;
use crate::config::{self, Config, StoreArgs};
use crate::open::{self, Open};

async fn catalog(args: &AdminArgs) -> anyhow::Result<Catalog> {
    let how = if args.create { Open::Create } else { Open::Existing };
    open::catalog(&Config::load_store(&args.store)?, how).await
}

fn project_and_role(project: &str, role: &str) -> anyhow::Result<(ProjectId, Role)> {
    let project = ProjectId::parse(project)
        .with_context(|| format!("--project {project:?} is not 32 lowercase hexadecimal characters"))?;
    Ok((project, role_of(role)?))
}

fn failed(e: imagehub_catalog::Error) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// A time as the lists show it (`-` when there is none).
fn when(m: Option<Millis>) -> String {
    m.map_or_else(|| "-".to_owned(), |m| imagehub_api::time::iso_utc(m.0))
}

pub async fn token_create(
    args: &AdminArgs,
    project: &str,
    role: &str,
    label: Option<String>,
    expires_in_ms: Option<i64>,
) -> anyhow::Result<()> {
    let (project, role) = project_and_role(project, role)?;
    let catalog = catalog(args).await?;
    let expires = expires_in_ms.map(imagehub_catalog::expiry_after);
    println!("{}", catalog.create_token(&project, role, label, expires).await.map_err(failed)?);
    Ok(())
}

pub async fn token_list(args: &AdminArgs) -> anyhow::Result<()> {
    let catalog = catalog(args).await?;
    println!(
        "{:<16} {:<32} {:<6} {:<20} {:<20} {:<20} {:<8} label",
        "id", "project", "role", "created", "last used", "expires", "state"
    );
    for (t, state) in catalog.list_tokens_with_state().await.map_err(failed)? {
        println!(
            "{:<16} {:<32} {:<6} {:<20} {:<20} {:<20} {:<8} {}",
            t.id(),
            t.project,
            t.role,
            when(Some(t.created_at)),
            when(t.last_used_at),
            when(t.expires_at),
            state.as_str(),
            t.label.as_deref().unwrap_or_default()
        );
    }
    Ok(())
}

pub async fn token_revoke(args: &AdminArgs, id: &str) -> anyhow::Result<()> {
    said_revoked(catalog(args).await?.revoke_token(id).await.map_err(failed)?, "token", id)
}

/// What a revocation prints: done, or that nothing active had the id (an error).
fn said_revoked(revoked: bool, what: &str, id: &str) -> anyhow::Result<()> {
    anyhow::ensure!(revoked, "no active {what} {id}");
    println!("revoked {id}");
    Ok(())
}

pub async fn access_key_create(
    args: &AdminArgs,
    project: &str,
    role: &str,
    label: Option<String>,
) -> anyhow::Result<()> {
    let (project, role) = project_and_role(project, role)?;
    let (ak, sk) = catalog(args).await?.create_access_key(&project, role, label).await.map_err(failed)?;
    println!("access_key {ak}");
    println!("secret_key {sk}");
    Ok(())
}

pub async fn access_key_list(args: &AdminArgs) -> anyhow::Result<()> {
    let catalog = catalog(args).await?;
    println!("{:<22} {:<34} {:<8} {:<10} label", "access_key", "project", "role", "state");
    for k in catalog.list_access_keys().await.map_err(failed)? {
        let state = if k.revoked_at.is_some() { "revoked" } else { "active" };
        println!("{:<22} {:<34} {:<8} {:<10} {}", k.ak, k.project, k.role, state, k.label.unwrap_or_default());
    }
    Ok(())
}

pub async fn access_key_revoke(args: &AdminArgs, ak: &str) -> anyhow::Result<()> {
    said_revoked(catalog(args).await?.revoke_access_key(ak).await.map_err(failed)?, "access key", ak)
}

/// `imagehub blobs check [--repair]`: blobs no image owns and images whose data is
/// missing; fails (exit 1) when it finds any and was not asked to repair them.
pub async fn blobs_check(args: &AdminArgs, repair: bool) -> anyhow::Result<()> {
    let config = Config::load_store(&args.store)?;
    let catalog = open::catalog(&config, Open::Existing).await?;
    // A server may be writing beside this command: only what no one touched for an hour
    // counts as an unfinished write.
    let blobs = open::blobs(&config, imagehub_blob::Sweep::OlderThan(std::time::Duration::from_secs(3600))).await?;
    println!("blob store: {}", blobs.describe());
    let catalog = catalog.with_data(open::image_data(&config, blobs)?);
    let found = catalog.check_blobs(repair).await.map_err(failed)?;
    for key in &found.orphans {
        println!("orphan blob {key}: no image owns it{}", if repair { " (removed)" } else { "" });
    }
    for id in &found.missing {
        println!("image {id}: its data is missing{}", if repair { " (now queued, without data)" } else { "" });
    }
    let problems = found.orphans.len() + found.missing.len();
    println!("{} orphan blobs, {} images without their data", found.orphans.len(), found.missing.len());
    if problems > 0 && !repair {
        anyhow::bail!("the blob store and the catalog disagree: run with --repair to fix it");
    }
    Ok(())
}

/// Brings the schema up to date; on an empty database that makes it (what `migrate` is
/// run for before a first start).
pub async fn migrate(store: &StoreArgs) -> anyhow::Result<()> {
    let config = Config::load_store(store)?;
    open::catalog(&config, Open::Create).await?;
    println!("database {} is at the latest schema", config::without_password(&config.database));
    Ok(())
}

// ---- identity: projects, users, roles ---------------------------------------------------

/// The password a command sets: a line read from stdin (`--password-stdin`), or a new
/// random one, printed once.
fn password_from(stdin: bool) -> anyhow::Result<(String, bool)> {
    if !stdin {
        return Ok((imagehub_catalog::secrets::new_password().map_err(failed)?, true));
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).context("reading the password from stdin")?;
    let pw = line.trim_end_matches(['\n', '\r']).to_owned();
    imagehub_catalog::identity::check_new_password(&pw).map_err(failed)?;
    Ok((pw, false))
}

fn role_of(role: &str) -> anyhow::Result<Role> {
    Role::parse(role).with_context(|| format!("--role {role:?} is not admin, member or reader"))
}

pub async fn project_create(
    args: &AdminArgs,
    name: Option<&str>,
    domain: Option<&str>,
    id: Option<&str>,
) -> anyhow::Result<()> {
    let id = id
        .map(|i| ProjectId::parse(i).with_context(|| format!("--id {i:?} is not 32 lowercase hexadecimal characters")))
        .transpose()?;
    let p = catalog(args).await?.create_project(name, domain, id).await.map_err(failed)?;
    println!("id {}\nname {}\ndomain {}", p.id, p.name, p.domain);
    Ok(())
}

pub async fn project_list(args: &AdminArgs) -> anyhow::Result<()> {
    let catalog = catalog(args).await?;
    println!("{:<32} {:<16} {:<20} name", "id", "domain", "created");
    for p in catalog.list_projects().await.map_err(failed)? {
        println!("{:<32} {:<16} {:<20} {}", p.id, p.domain, when(Some(p.created_at)), p.name);
    }
    Ok(())
}

/// What `user create` is given.
pub struct NewUser<'a> {
    pub name: &'a str,
    pub domain: Option<&'a str>,
    pub project: &'a str,
    pub project_domain: Option<&'a str>,
    pub role: &'a str,
    pub password_stdin: bool,
}

pub async fn user_create(args: &AdminArgs, new: NewUser<'_>) -> anyhow::Result<()> {
    let role = role_of(new.role)?;
    let (password, generated) = password_from(new.password_stdin)?;
    let catalog = catalog(args).await?;
    let project = catalog.project_by_name_or_id(new.project, new.project_domain).await.map_err(failed)?;
    let u = catalog.create_user(new.name, new.domain, &password, &project.id, role).await.map_err(failed)?;
    println!(
        "id {}\nname {}\ndomain {}\nproject {} ({})\nrole {role}",
        u.id, u.name, u.domain, project.id, project.name
    );
    if generated {
        println!("password {password}");
    }
    Ok(())
}

pub async fn user_list(args: &AdminArgs) -> anyhow::Result<()> {
    let catalog = catalog(args).await?;
    println!("{:<32} {:<16} {:<8} {:<32} name", "id", "domain", "enabled", "default project");
    for u in catalog.list_users().await.map_err(failed)? {
        let project = u.default_project.as_ref().map_or("-", |p| p.as_str());
        println!("{:<32} {:<16} {:<8} {:<32} {}", u.id, u.domain, u.enabled, project, u.name);
    }
    Ok(())
}

pub async fn user_set_password(
    args: &AdminArgs,
    user: &str,
    domain: Option<&str>,
    password_stdin: bool,
) -> anyhow::Result<()> {
    let (password, generated) = password_from(password_stdin)?;
    let catalog = catalog(args).await?;
    let u = catalog.user_by_name_or_id(user, domain).await.map_err(failed)?;
    catalog.set_password(&u, &password).await.map_err(failed)?;
    println!("password of {} set; its tokens are revoked", u.name);
    if generated {
        println!("password {password}");
    }
    Ok(())
}

pub async fn user_enable(args: &AdminArgs, user: &str, domain: Option<&str>, enabled: bool) -> anyhow::Result<()> {
    let catalog = catalog(args).await?;
    let u = catalog.user_by_name_or_id(user, domain).await.map_err(failed)?;
    catalog.set_user_enabled(&u, enabled).await.map_err(failed)?;
    if enabled {
        println!("enabled {}", u.name);
    } else {
        println!("disabled {}; its tokens are revoked", u.name);
    }
    Ok(())
}

pub async fn user_delete(args: &AdminArgs, user: &str, domain: Option<&str>) -> anyhow::Result<()> {
    let catalog = catalog(args).await?;
    let u = catalog.user_by_name_or_id(user, domain).await.map_err(failed)?;
    catalog.delete_user(&u).await.map_err(failed)?;
    println!("deleted {}", u.name);
    Ok(())
}

pub async fn role_add(
    args: &AdminArgs,
    user: &str,
    project: &str,
    role: &str,
    domain: Option<&str>,
) -> anyhow::Result<()> {
    let role = role_of(role)?;
    let catalog = catalog(args).await?;
    let u = catalog.user_by_name_or_id(user, domain).await.map_err(failed)?;
    let p = catalog.project_by_name_or_id(project, domain).await.map_err(failed)?;
    catalog.assign_role(&u, &p, role).await.map_err(failed)?;
    println!("{} is {role} on {} ({})", u.name, p.name, p.id);
    Ok(())
}

pub async fn role_remove(args: &AdminArgs, user: &str, project: &str, domain: Option<&str>) -> anyhow::Result<()> {
    let catalog = catalog(args).await?;
    let u = catalog.user_by_name_or_id(user, domain).await.map_err(failed)?;
    let p = catalog.project_by_name_or_id(project, domain).await.map_err(failed)?;
    anyhow::ensure!(catalog.unassign_role(&u, &p).await.map_err(failed)?, "{} has no role on {}", u.name, p.name);
    println!("{} has no role on {} any more", u.name, p.name);
    Ok(())
}

pub async fn role_list(args: &AdminArgs) -> anyhow::Result<()> {
    let catalog = catalog(args).await?;
    let users: std::collections::HashMap<String, String> =
        catalog.list_users().await.map_err(failed)?.into_iter().map(|u| (u.id, u.name)).collect();
    let projects: std::collections::HashMap<ProjectId, String> =
        catalog.list_projects().await.map_err(failed)?.into_iter().map(|p| (p.id, p.name)).collect();
    println!("{:<24} {:<24} role", "user", "project");
    for (user, project, role) in catalog.list_roles().await.map_err(failed)? {
        let u = users.get(&user).map_or(user.as_str(), String::as_str);
        let p = projects.get(&project).map_or(project.as_str(), String::as_str);
        println!("{u:<24} {p:<24} {role}");
    }
    Ok(())
}
