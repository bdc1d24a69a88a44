//! The crash collector: receives WebAssembly core dumps from crashed hosts, stores them,
//! symbolizes them with their debug files, groups them, and forwards them to Sentry.
//!
//! [`Service`] is the main type: the operations, with no HTTP in them (ingest a dump, store a
//! debug file, symbolize, list), over a [`Store`] (any `object_store`: local disk, memory,
//! S3-compatible). [`http::router`] is the axum front end over it, and [`run`] serves it as the
//! `coredump-service` binary does.
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! let config = coredump_service::Config::default();
//! let listener = tokio::net::TcpListener::bind(config.listen).await?;
//! coredump_service::run(config, listener, std::future::pending()).await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod condense;
mod error;
mod forward;
mod gunzip;
pub mod http;
mod intake;
mod key;
mod metrics;
mod record;
pub mod sentry;
mod service;
mod stack;
mod store;
mod symbolize;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use condense::{CondenseError, Condensed, Condenser};
pub use error::ServiceError;
pub use forward::{ForwardConfig, Forwarder, Pending};
pub use intake::{Encoding, Intake, IntakeError};
pub use key::{DumpKey, Fingerprint, InvalidName, parse_build_id};
pub use metrics::Metrics;
pub use record::{DumpRecord, GroupMember, GroupSummary};
pub use service::{DumpPage, Ingested, Limits, ReceivedDump, Service, Submission};
pub use stack::{Crash, Stack, StackFrame, is_app_path};
pub use store::{Created, Store, StoreUrlError};
pub use symbolize::{DebugFiles, SECTION_PARTS, Stored};

/// How the service runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// The store URL (`file:///path`, `memory://`, `s3://bucket/prefix`).
    pub store: String,
    /// Sentry's DSN, to forward events.
    pub sentry_dsn: Option<String>,
    /// The service's own URL as Sentry users reach it, for links to dumps too big to attach.
    pub public_url: Option<String>,
    /// Tokens for ingest and read.
    pub tokens: http::Tokens,
    /// The most bytes one request may send.
    pub max_body: usize,
    /// The most requests receiving a body at once.
    pub max_concurrent: usize,
    /// Limits on a dump.
    pub limits: Limits,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            store: "file://./coredumps".into(),
            sentry_dsn: None,
            public_url: None,
            tokens: http::Tokens::default(),
            max_body: 1 << 30,
            max_concurrent: 16,
            limits: Limits::default(),
        }
    }
}

/// The store URL of a plain path or URL: a path (relative ones from the working directory)
/// becomes `file://`.
pub fn store_url(text: &str) -> anyhow::Result<String> {
    if text.contains("://") && !text.starts_with("file://") {
        return Ok(text.to_string());
    }
    let path = std::path::Path::new(text.strip_prefix("file://").unwrap_or(text));
    let path = std::path::absolute(path)?;
    Ok(url::Url::from_directory_path(&path)
        .map_err(|()| anyhow::anyhow!("{} is not a usable directory path", path.display()))?
        .to_string())
}

/// A configured service, ready to serve: its store is open, its Sentry DSN valid and its
/// Sentry queue running. Made before anything is announced, so a bad configuration is one
/// error and nothing else.
pub struct Server {
    app: axum::Router,
    stop: tokio::sync::watch::Sender<bool>,
    worker: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("forwarding", &self.worker.is_some())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Opens the store and starts the Sentry queue (inside a tokio runtime). `local` is the
    /// address it will listen on: the dumps' link in Sentry events when no `public_url` is set.
    pub fn new(config: &Config, local: SocketAddr) -> anyhow::Result<Server> {
        use anyhow::Context as _;
        let store = Store::open(&store_url(&config.store)?)?;
        tracing::info!(store = store.description(), "store opened");
        let metrics = Arc::new(Metrics::default());
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let (forwarder, worker) = match &config.sentry_dsn {
            Some(dsn) => {
                let sender = sentry::SentrySender::new(dsn).context("--sentry-dsn")?;
                let forward = ForwardConfig {
                    public_url: config
                        .public_url
                        .clone()
                        .unwrap_or_else(|| format!("http://{local}")),
                    drain: Duration::from_secs(5),
                };
                let (f, task) =
                    Forwarder::start(store.clone(), sender, forward, metrics.clone(), stopped);
                (Some(f), Some(task))
            }
            None => (None, None),
        };
        let service = Arc::new(Service::new(
            store,
            config.limits.clone(),
            metrics,
            forwarder,
        ));
        let state = Arc::new(http::AppState {
            service,
            tokens: config.tokens.clone(),
            ingest_slots: tokio::sync::Semaphore::new(config.max_concurrent.max(1)),
        });
        Ok(Server {
            app: http::router(state, config.max_body),
            stop,
            worker,
        })
    }

    /// Serves on `listener` until `shutdown` resolves, then finishes the requests already
    /// accepted and gives the Sentry queue a few seconds to drain.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        use anyhow::Context as _;
        axum::serve(listener, self.app)
            .with_graceful_shutdown(shutdown)
            .await
            .context("serving")?;
        let _ = self.stop.send(true);
        if let Some(worker) = self.worker {
            let _ = worker.await;
        }
        Ok(())
    }
}

/// [`Server::new`], then [`Server::serve`] on `listener` until `shutdown` resolves.
pub async fn run(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let local = listener.local_addr()?;
    Server::new(&config, local)?.serve(listener, shutdown).await
}
