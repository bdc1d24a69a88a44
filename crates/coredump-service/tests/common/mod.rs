//! A coredump-service running on loopback for a test, and the pipeline steps that feed it.

#![allow(dead_code)] // Each test file uses a different part.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use coredump_service::Config;
use wasm_coredump_tests::{Fixture, Profile, fixture};

/// A service on 127.0.0.1 in a runtime of its own; stopped (gracefully) on drop.
pub struct Running {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
}

impl Running {
    /// Starts the service with `config` (its `listen` is ignored: a free port is used).
    pub fn start(config: Config) -> Running {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                coredump_service::run(config, listener, async {
                    let _ = stopped.await;
                })
                .await
            })
        });
        Running {
            url: format!("http://{addr}"),
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Stops the service and waits for it: its graceful shutdown.
    pub fn stop(mut self) -> anyhow::Result<()> {
        self.stop.take().map(|s| s.send(()));
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A config storing under `dir`.
pub fn config(dir: &Path) -> Config {
    Config {
        store: dir.display().to_string(),
        ..Config::default()
    }
}

/// A fixture through the build pipeline: rewritten, then split.
pub struct Built {
    pub app: PathBuf,
    pub debug_file: PathBuf,
    pub build_id: String,
}

/// Rewrites and splits `kind`'s `profile` build into `dir`.
pub fn build(kind: Fixture, profile: Profile, dir: &Path) -> Built {
    let input = std::fs::read(fixture(kind, profile)).unwrap();
    let rewritten = rewriter::rewrite(&input, &rewriter::Options::default()).unwrap();
    let split = debuginfo_split::split(&rewritten.module, &Default::default()).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let app = dir.join("app.wasm");
    std::fs::write(&app, split.stripped().to_vec()).unwrap();
    let build_id = split.build_id().to_string();
    let debug_file = dir.join(format!("debug-{build_id}.wasm"));
    std::fs::write(&debug_file, split.debug().to_vec()).unwrap();
    Built {
        app,
        debug_file,
        build_id,
    }
}

/// A blocking HTTP client.
pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap()
}

/// PUTs `built`'s debug file to the service.
pub fn upload_debug_file(
    url: &str,
    built: &Built,
    token: Option<&str>,
) -> reqwest::blocking::Response {
    let mut request = client()
        .put(format!("{url}/debuginfo/{}", built.build_id))
        .body(std::fs::read(&built.debug_file).unwrap());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().unwrap()
}

/// The `build_id` section's payload of a module.
pub fn build_id_payload(module: &[u8]) -> Option<Vec<u8>> {
    wasmparser::Parser::new(0)
        .parse_all(module)
        .find_map(|p| match p {
            Ok(wasmparser::Payload::CustomSection(c)) if c.name() == "build_id" => {
                Some(c.data().to_vec())
            }
            _ => None,
        })
}

/// The multipart form the older JS client sends: the uncompressed dump, the request, and the
/// module's build_id payload.
pub fn older_client_form(
    dump: Vec<u8>,
    request: &serde_json::Value,
    build_id: Option<Vec<u8>>,
) -> reqwest::blocking::multipart::Form {
    let mut form = reqwest::blocking::multipart::Form::new()
        .part(
            "coredump",
            reqwest::blocking::multipart::Part::bytes(dump).file_name("coredump"),
        )
        .text("request", request.to_string());
    if let Some(build_id) = build_id {
        form = form.part(
            "build_id-section",
            reqwest::blocking::multipart::Part::bytes(build_id).file_name("build_id"),
        );
    }
    form
}
