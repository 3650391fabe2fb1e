//! The `imagehub` binary: the server and its administrative commands.

mod admin;
mod config;
mod open;
mod server;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use config::{Config, ServeArgs, StoreArgs};

#[derive(Parser)]
#[command(name = "imagehub", version, about = "imagehub: a self-hosted image catalog service")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (creates the database and loads the preset catalog on first start).
    Serve(ServeArgs),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage access keys (AK/SK pairs for signed requests and SCNet logins).
    #[command(subcommand, name = "access-key")]
    AccessKey(AccessKeyCommand),
    /// Manage the named projects users log in to (the identity face, /v3).
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Manage the users who log in with a password (the identity face, /v3).
    #[command(subcommand)]
    User(UserCommand),
    /// Manage the roles users have on projects.
    #[command(subcommand)]
    Role(RoleCommand),
    /// Image data: check the blob store against the catalog.
    #[command(subcommand)]
    Blobs(BlobsCommand),
    /// Apply pending database migrations and exit (makes the schema on an empty database).
    Migrate(StoreArgs),
    /// Configuration helpers.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token for a project and print it (shown once; only its hash is stored).
    Create {
        /// Project id: 32 lowercase hexadecimal characters.
        #[arg(long)]
        project: String,
        /// admin (every project), member (read and write its project) or reader (read only).
        #[arg(long, default_value = "member")]
        role: String,
        /// A note stored with the token.
        #[arg(long)]
        label: Option<String>,
        /// Lifetime, e.g. `90d`, `12h`, `30m` (default: it does not expire).
        #[arg(long, value_name = "DURATION", value_parser = parse_lifetime)]
        expires_in: Option<i64>,
        #[command(flatten)]
        store: AdminArgs,
    },
    /// List tokens: id, project, role, label, created, last used, expiry, state (never a token).
    List {
        #[command(flatten)]
        store: AdminArgs,
    },
    /// Revoke a token by its id (from `token list`); it stops working at once on every node.
    Revoke {
        id: String,
        #[command(flatten)]
        store: AdminArgs,
    },
}

/// A lifetime such as `90d`, `12h`, `30m`, `3600s` or `1h 30m`, in milliseconds.
fn parse_lifetime(s: &str) -> Result<i64, String> {
    let span: jiff::Span = s.parse().map_err(|e| format!("not a duration such as 90d, 12h or 30m: {e}"))?;
    // Days of 24 hours; months and years have no fixed length and are refused.
    let d = span
        .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
        .map_err(|e| format!("not a duration in weeks, days, hours, minutes or seconds: {e}"))?;
    let ms = i64::try_from(d.as_millis()).map_err(|_| "too long".to_owned())?;
    if ms < 1000 {
        return Err("a token must live at least a second".into());
    }
    Ok(ms)
}

#[derive(Subcommand)]
enum BlobsCommand {
    /// Report blobs no image owns and images whose data is missing (exit 1 if any);
    /// with --repair, remove those blobs and make those images queued without data.
    Check {
        #[arg(long)]
        repair: bool,
        #[command(flatten)]
        store: AdminArgs,
    },
}

#[derive(Subcommand)]
enum AccessKeyCommand {
    /// Create a key pair for a project; prints the access key id and the secret key (shown once).
    Create {
        #[arg(long)]
        project: String,
        #[arg(long, default_value = "member")]
        role: String,
        #[arg(long)]
        label: Option<String>,
        #[command(flatten)]
        store: AdminArgs,
    },
    /// List access keys (never their secrets).
    List {
        #[command(flatten)]
        store: AdminArgs,
    },
    /// Revoke an access key; signatures made with it stop working at once.
    Revoke {
        ak: String,
        #[command(flatten)]
        store: AdminArgs,
    },
}

#[derive(Subcommand)]
enum ProjectCommand {
    /// Create a project; prints its id, name and domain.
    Create {
        /// Its name (unique in its domain); default: its id.
        #[arg(long)]
        name: Option<String>,
        #[arg(long, default_value = "Default")]
        domain: String,
        /// Its id, 32 lowercase hexadecimal characters (e.g. one tokens already name); default: random.
        #[arg(long)]
        id: Option<String>,
        #[command(flatten)]
        store: AdminArgs,
    },
    /// List projects.
    List {
        #[command(flatten)]
        store: AdminArgs,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user with a role on a project (its default project). Without
    /// --password-stdin a random password is made and printed once.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "Default")]
        domain: String,
        /// The project's name or id.
        #[arg(long)]
        project: String,
        /// The project's domain; default: the user's.
        #[arg(long)]
        project_domain: Option<String>,
        /// admin (every project), member (read and write its project) or reader (read only).
        #[arg(long, default_value = "member")]
        role: String,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        store: AdminArgs,
    },
    /// List users (never their passwords).
    List {
        #[command(flatten)]
        store: AdminArgs,
    },
    /// Set a user's password (its tokens are revoked); without --password-stdin a random one is printed.
    SetPassword {
        /// The user's name or id.
        user: String,
        #[arg(long, default_value = "Default")]
        domain: String,
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        store: AdminArgs,
    },
    /// Disable a user: its logins are refused and its tokens revoked, at once on every node.
    Disable {
        user: String,
        #[arg(long, default_value = "Default")]
        domain: String,
        #[command(flatten)]
        store: AdminArgs,
    },
    /// Enable a disabled user.
    Enable {
        user: String,
        #[arg(long, default_value = "Default")]
        domain: String,
        #[command(flatten)]
        store: AdminArgs,
    },
    /// Delete a user, its roles and its tokens.
    Delete {
        user: String,
        #[arg(long, default_value = "Default")]
        domain: String,
        #[command(flatten)]
        store: AdminArgs,
    },
}

#[derive(Subcommand)]
enum RoleCommand {
    /// Give a user a role on a project (replacing the one it had there; its tokens for the project are revoked).
    Add {
        #[arg(long)]
        user: String,
        #[arg(long)]
        project: String,
        #[arg(long)]
        role: String,
        /// The domain of the user and the project.
        #[arg(long, default_value = "Default")]
        domain: String,
        #[command(flatten)]
        store: AdminArgs,
    },
    /// Take a user's role on a project away (and its tokens for the project).
    Remove {
        #[arg(long)]
        user: String,
        #[arg(long)]
        project: String,
        #[arg(long, default_value = "Default")]
        domain: String,
        #[command(flatten)]
        store: AdminArgs,
    },
    /// List role assignments.
    List {
        #[command(flatten)]
        store: AdminArgs,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print a commented configuration file with every default.
    Example,
}

/// What every administrative command takes: where the database is, and whether it may
/// be made.
#[derive(Args)]
struct AdminArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Make a new, empty catalog if none exists at the database named (without it, a
    /// missing database is an error: a mistyped --data-dir must not start a new catalog).
    #[arg(long)]
    create: bool,
}

// The server allocates many small, short-lived objects per request (rows, JSON values);
// mimalloc serves them from thread-local pages (measured: BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => server::serve(Config::load(&args)?).await,
        Command::Token(TokenCommand::Create { project, role, label, expires_in, store }) => {
            admin::token_create(&store, &project, &role, label, expires_in).await
        }
        Command::Token(TokenCommand::List { store }) => admin::token_list(&store).await,
        Command::Token(TokenCommand::Revoke { id, store }) => admin::token_revoke(&store, &id).await,
        Command::AccessKey(AccessKeyCommand::Create { project, role, label, store }) => {
            admin::access_key_create(&store, &project, &role, label).await
        }
        Command::AccessKey(AccessKeyCommand::List { store }) => admin::access_key_list(&store).await,
        Command::Blobs(BlobsCommand::Check { repair, store }) => admin::blobs_check(&store, repair).await,
        Command::AccessKey(AccessKeyCommand::Revoke { ak, store }) => admin::access_key_revoke(&store, &ak).await,
        Command::Migrate(store) => admin::migrate(&store).await,
        Command::Project(ProjectCommand::Create { name, domain, id, store }) => {
            admin::project_create(&store, name.as_deref(), Some(&domain), id.as_deref()).await
        }
        Command::Project(ProjectCommand::List { store }) => admin::project_list(&store).await,
        Command::User(UserCommand::Create { name, domain, project, project_domain, role, password_stdin, store }) => {
            let new = admin::NewUser {
                name: &name,
                domain: Some(&domain),
                project: &project,
                project_domain: Some(project_domain.as_deref().unwrap_or(&domain)),
                role: &role,
                password_stdin,
            };
            admin::user_create(&store, new).await
        }
        Command::User(UserCommand::List { store }) => admin::user_list(&store).await,
        Command::User(UserCommand::SetPassword { user, domain, password_stdin, store }) => {
            admin::user_set_password(&store, &user, Some(&domain), password_stdin).await
        }
        Command::User(UserCommand::Disable { user, domain, store }) => {
            admin::user_enable(&store, &user, Some(&domain), false).await
        }
        Command::User(UserCommand::Enable { user, domain, store }) => {
            admin::user_enable(&store, &user, Some(&domain), true).await
        }
        Command::User(UserCommand::Delete { user, domain, store }) => {
            admin::user_delete(&store, &user, Some(&domain)).await
        }
        Command::Role(RoleCommand::Add { user, project, role, domain, store }) => {
            admin::role_add(&store, &user, &project, &role, Some(&domain)).await
        }
        Command::Role(RoleCommand::Remove { user, project, domain, store }) => {
            admin::role_remove(&store, &user, &project, Some(&domain)).await
        }
        Command::Role(RoleCommand::List { store }) => admin::role_list(&store).await,
        Command::Config(ConfigCommand::Example) => {
            print!("{}", config::EXAMPLE);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_lifetime;

    #[test]
    fn lifetimes_in_days_weeks_and_smaller_units() {
        assert_eq!(parse_lifetime("90d"), Ok(90 * 86_400_000));
        assert_eq!(parse_lifetime("2w"), Ok(14 * 86_400_000));
        assert_eq!(parse_lifetime("12h"), Ok(12 * 3_600_000));
        assert_eq!(parse_lifetime("1h 30m"), Ok(90 * 60_000));
        assert_eq!(parse_lifetime("3600s"), Ok(3_600_000));
        assert!(parse_lifetime("1 month").unwrap_err().contains("weeks, days"));
        assert!(parse_lifetime("soon").unwrap_err().contains("90d"));
        assert!(parse_lifetime("500ms").unwrap_err().contains("at least a second"));
    }
}
