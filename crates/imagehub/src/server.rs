//! `imagehub serve`: listen first (a port in use fails before anything is made or
//! printed), then open the catalog, make sure an admin token exists, and serve.

use anyhow::Context;

use crate::config::{self, Config};
use crate::open::{self, Open};

pub async fn serve(config: Config) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&config.log).context("invalid log filter")?)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    tracing::info!(?config, "starting imagehub");
    // Connections that arrive while the catalog opens wait in the backlog.
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    let catalog = open::catalog(&config, Open::Serve).await?;
    let catalog = open::serving_image_data(&config, catalog).await?;
    let chosen = config.bootstrap_token.as_ref().map(config::Secret::expose);
    match catalog.bootstrap(chosen).await.map_err(|e| anyhow::anyhow!("bootstrap: {e}"))? {
        Some(token) => {
            println!("imagehub: first start. Admin token of the system project (shown once, keep it):");
            println!("{token}");
        }
        None if chosen.is_some() => tracing::info!("admin token taken from IMAGEHUB_BOOTSTRAP_TOKEN"),
        None => {}
    }
    let api = imagehub_api::ApiConfig {
        body_limit: config.body_limit,
        scnet_utc_offset_secs: config.scnet_utc_offset_secs,
        scnet_token_ttl_secs: config.scnet_token_ttl_secs,
        public_url: config.public_url.clone(),
        identity_token_ttl_secs: config.identity_token_ttl_secs,
        region: config.region.clone(),
    };
    let app = imagehub_api::build(catalog, &api);
    tracing::info!("listening on http://{}", listener.local_addr()?);
    imagehub_api::serve(listener, app, shutdown_signal(), config.limits.clone()).await.context("server error")?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}
