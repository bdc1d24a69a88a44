//! `coredump-service`: the crash collector's binary. Parses options, serves until SIGTERM or
//! Ctrl-C, then finishes the requests it accepted.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use coredump_service::{Config, Limits, http::Tokens};

/// Receives WebAssembly core dumps from crashed hosts, symbolizes them with their debug files,
/// stores them and forwards them to Sentry.
///
/// With no arguments it listens on 127.0.0.1:8080 and stores under ./coredumps.
#[derive(Debug, Parser)]
#[command(
    name = "coredump-service",
    version,
    after_help = "Examples:
  coredump-service
  coredump-service --listen 0.0.0.0:8080 --store s3://crashes/prod --sentry-dsn https://KEY@o1.ingest.sentry.io/2
  AWS_ENDPOINT_URL=https://ACCOUNT.r2.cloudflarestorage.com AWS_REGION=auto coredump-service --store s3://crashes

Hosts POST the multipart form of DESIGN §4 to /; debuginfo-split --upload puts debug files to
/debuginfo/<build_id>; wasmgdb opens http://HOST/coredumps/<key>.

Exit status: 0 after a clean shutdown, 1 on an error at start."
)]
struct Opts {
    /// The address to listen on.
    #[arg(
        long,
        env = "COREDUMP_SERVICE_LISTEN",
        default_value = "127.0.0.1:8080"
    )]
    listen: SocketAddr,
    /// Where to store: a directory, file:///path, memory://, or s3://bucket/prefix (endpoint,
    /// region and credentials from AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID,
    /// AWS_SECRET_ACCESS_KEY; AWS_ALLOW_HTTP=true for a plain-HTTP endpoint).
    #[arg(long, env = "COREDUMP_SERVICE_STORE", default_value = "./coredumps")]
    store: String,
    /// Sentry DSN: forward each crash as an event.
    #[arg(long, env = "COREDUMP_SERVICE_SENTRY_DSN")]
    sentry_dsn: Option<String>,
    /// This service's URL as Sentry users reach it (links to dumps too big to attach).
    #[arg(long, env = "COREDUMP_SERVICE_PUBLIC_URL")]
    public_url: Option<String>,
    /// Bearer token required to post dumps and upload debug files.
    #[arg(long, env = "COREDUMP_SERVICE_INGEST_TOKEN", hide_env_values = true)]
    ingest_token: Option<String>,
    /// Bearer token required to read dumps, stacks, lists and debug files.
    #[arg(long, env = "COREDUMP_SERVICE_READ_TOKEN", hide_env_values = true)]
    read_token: Option<String>,
    /// The most bytes a request may send (dumps come compressed or not).
    #[arg(long, env = "COREDUMP_SERVICE_MAX_BODY", default_value_t = 1 << 30)]
    max_body: usize,
    /// The most requests receiving a body at once (others wait). Each holds at most about
    /// 30 MiB however large its dump: 8 of memory kept to read the crash reason, 8 of
    /// compressed dump buffered, two 5 MiB parts of an upload in flight.
    #[arg(long, env = "COREDUMP_SERVICE_MAX_CONCURRENT", default_value_t = 16)]
    max_concurrent: usize,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "coredump_service=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let opts = Opts::parse();
    match run(opts).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(opts: Opts) -> anyhow::Result<()> {
    let config = Config {
        listen: opts.listen,
        store: opts.store,
        sentry_dsn: opts.sentry_dsn,
        public_url: opts.public_url,
        tokens: Tokens {
            ingest: opts.ingest_token,
            read: opts.read_token,
        },
        max_body: opts.max_body,
        max_concurrent: opts.max_concurrent,
        limits: Limits::default(),
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    let local = listener.local_addr()?;
    let server = coredump_service::Server::new(&config, local)?;
    eprintln!("coredump-service listening on http://{local}");
    server.serve(listener, shutdown_signal()).await
}

/// Resolves on SIGTERM or Ctrl-C.
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
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down: finishing accepted requests");
}
