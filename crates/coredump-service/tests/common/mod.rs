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

/// How a [`SentryReceiver`] answers an envelope.
#[derive(Clone, Copy, Debug)]
pub enum SentryAnswer {
    /// 200 after `failures` answers of 500.
    OkAfter { failures: usize },
    /// Never answers.
    Hang,
}

/// A stand-in for Sentry's ingest on 127.0.0.1 that keeps every envelope body it gets.
pub struct SentryReceiver {
    /// A DSN pointing at it (project 42).
    pub dsn: String,
    pub bodies: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
    _thread: std::thread::JoinHandle<()>,
}

impl SentryReceiver {
    /// Starts one.
    pub fn start(answer: SentryAnswer) -> SentryReceiver {
        use std::sync::{Arc, Mutex};
        let bodies: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let kept = bodies.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let app = axum::Router::new()
                    .fallback(move |body: axum::body::Bytes| {
                        let kept = kept.clone();
                        async move {
                            let seen = {
                                let mut bodies = kept.lock().unwrap();
                                bodies.push(gunzip(&body));
                                bodies.len()
                            };
                            match answer {
                                SentryAnswer::OkAfter { failures } if seen > failures => {
                                    axum::http::StatusCode::OK
                                }
                                SentryAnswer::OkAfter { .. } => {
                                    axum::http::StatusCode::INTERNAL_SERVER_ERROR
                                }
                                SentryAnswer::Hang => std::future::pending().await,
                            }
                        }
                    })
                    .layer(axum::extract::DefaultBodyLimit::disable());
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        SentryReceiver {
            dsn: format!("http://public@{addr}/42"),
            bodies,
            _thread: thread,
        }
    }

    /// Waits (up to a minute) until it got `n` envelopes, and gives them.
    pub fn wait_for(&self, n: usize) -> Vec<Vec<u8>> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let bodies = self.bodies.lock().unwrap().clone();
            if bodies.len() >= n {
                return bodies;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "Sentry got {} envelopes, not {n}",
                bodies.len()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

/// Runs `built` under Node and posts its dump as the older client does; gives the answer and
/// the run.
pub fn crash_and_post(
    url: &str,
    built: &Built,
    request: &serde_json::Value,
) -> (serde_json::Value, wasm_coredump_tests::NodeRun) {
    let run = wasm_coredump_tests::NodeCommand::new(&built.app).run();
    assert!(run.trapped(), "{}", run.stderr);
    let module = std::fs::read(&built.app).unwrap();
    let form = older_client_form(
        run.core.clone().unwrap(),
        request,
        build_id_payload(&module),
    );
    (post_form(url, form), run)
}

/// POSTs `form` to the service at `url`; its JSON answer.
pub fn post_form(url: &str, form: reqwest::blocking::multipart::Form) -> serde_json::Value {
    client()
        .post(format!("{url}/"))
        .multipart(form)
        .send()
        .unwrap()
        .json()
        .unwrap()
}

/// One part of a hand-built multipart form: its name, its file name if it is a file, its bytes.
pub struct FormPart<'a> {
    pub name: &'a str,
    pub file_name: Option<&'a str>,
    pub bytes: &'a [u8],
}

/// The boundary of [`multipart_body`]'s forms.
pub const BOUNDARY: &str = "coredump-service-test-boundary-7d3f9a";

/// A multipart/form-data body built by hand (so a test can cut it, compress it, ...), and the
/// Content-Type that goes with it.
pub fn multipart_body(parts: &[FormPart<'_>]) -> (String, Vec<u8>) {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let disposition = match part.file_name {
            Some(file) => format!(
                "Content-Disposition: form-data; name=\"{}\"; filename=\"{file}\"\r\n\
                 Content-Type: application/octet-stream\r\n",
                part.name
            ),
            None => format!("Content-Disposition: form-data; name=\"{}\"\r\n", part.name),
        };
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(part.bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

/// Every regular file under `dir`, recursively (directories themselves are not listed).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                todo.push(entry.path());
            } else {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    files
}

/// The MyThing fixture's Debug build through the pipeline into `dir`, run under Node: the built
/// files and the core dump the crash left.
pub fn mything_dump(dir: &Path) -> (Built, Vec<u8>) {
    let built = build(Fixture::MyThing, Profile::Debug, dir);
    let run = wasm_coredump_tests::NodeCommand::new(&built.app).run();
    assert!(run.trapped(), "{}", run.stderr);
    let core = run.core.expect("the crash left a core dump");
    (built, core)
}

/// gzip of `bytes`.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// gunzip of `bytes`.
pub fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// The MyThing `profile` build as the compiler left it (with DWARF and no build_id of its
/// own), split with the build id `id`: the debug file of `id`, whatever the profile.
pub fn split_with_id(profile: Profile, id: &str, dir: &Path) -> Built {
    let input = std::fs::read(fixture(Fixture::MyThing, profile)).unwrap();
    assert!(build_id_payload(&input).is_none());
    let mut opts = debuginfo_split::SplitOptions::default();
    opts.new_build_id = debuginfo_split::NewBuildId::Given(id.parse().unwrap());
    let split = debuginfo_split::split(&input, &opts).unwrap();
    assert_eq!(
        split.build_id_source(),
        debuginfo_split::BuildIdSource::Given
    );
    assert_eq!(split.build_id().to_string(), id);
    std::fs::create_dir_all(dir).unwrap();
    let app = dir.join("app.wasm");
    std::fs::write(&app, split.stripped().to_vec()).unwrap();
    let debug_file = dir.join(format!("debug-{id}.wasm"));
    std::fs::write(&debug_file, split.debug().to_vec()).unwrap();
    Built {
        app,
        debug_file,
        build_id: id.to_string(),
    }
}

/// A valid core dump with `len` bytes of memory filled by `fill`.
pub fn crafted_dump(len: usize, fill: impl Fn(&mut [u8])) -> Vec<u8> {
    let mut data = vec![0u8; len];
    fill(&mut data);
    let pages = (len as u64).div_ceil(65536);
    let mut dump = coredump::CoreDump::new("crafted");
    dump.add_memory(coredump::Memory {
        ty: coredump::MemoryType::new(pages),
        segments: vec![coredump::Segment {
            address: 0,
            data: data.into(),
        }],
    });
    dump.add_thread(coredump::Thread {
        name: "main".into(),
        frames: vec![],
    });
    dump.encode()
}

/// GET `url`, which must answer 200 with JSON.
pub fn get_json(url: &str) -> serde_json::Value {
    let response = client().get(url).send().unwrap();
    let status = response.status();
    let text = response.text().unwrap();
    assert_eq!(status, 200, "{url}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// GET `url`, which must answer 200; its body.
pub fn get_bytes(url: &str) -> Vec<u8> {
    let response = client().get(url).send().unwrap();
    assert_eq!(response.status(), 200, "{url}");
    response.bytes().unwrap().to_vec()
}
