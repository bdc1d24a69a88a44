//! The service over a real S3 protocol server on loopback: s3s-fs (the `s3s` crate's file
//! system backend, SigV4 auth with a fixed key) over a temporary directory, where a bucket is a
//! directory and an object a file. The service is the `coredump-service` binary itself, given
//! `--store s3://bucket/prefix` and the `AWS_*` variables a deployment sets, so the store URL,
//! `AmazonS3Builder::from_env`, the multipart uploads and create-if-absent all go over HTTP.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use common::{
    FormPart, build_id_payload, client, crafted_dump, files_under, get_json, gunzip,
    multipart_body, mything_dump, older_client_form, upload_debug_file,
};
use coredump_service::{Created, Store};
use object_store::path::Path as StorePath;
use rand::Rng;
use reqwest::header::CONTENT_TYPE;
use serde_json::Value;
use wasm_coredump_tests::Profile;

const ACCESS_KEY: &str = "test-access-key";
const SECRET_KEY: &str = "test-secret-key-0123456789";
const BUCKET: &str = "crashes";
const PREFIX: &str = "prod";

/// An s3s-fs server on 127.0.0.1 over `root` (one directory per bucket), stopped on drop.
struct S3Server {
    endpoint: String,
    root: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl S3Server {
    fn start(root: &Path) -> S3Server {
        std::fs::create_dir_all(root.join(BUCKET)).unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let fs = s3s_fs::FileSystem::new(root).unwrap();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let service = {
                    let mut builder = s3s::service::S3ServiceBuilder::new(fs);
                    builder.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
                    builder.build()
                };
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let socket = tokio::select! {
                        accepted = listener.accept() => match accepted {
                            Ok((socket, _)) => socket,
                            Err(_) => continue,
                        },
                        _ = &mut stopped => break,
                    };
                    let service = service.clone();
                    tokio::spawn(async move {
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(socket), service)
                            .await;
                    });
                }
            });
        });
        S3Server {
            endpoint: format!("http://{addr}"),
            root: root.canonicalize().unwrap(),
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The directory that holds the service's objects.
    fn prefix_dir(&self) -> PathBuf {
        self.root.join(BUCKET).join(PREFIX)
    }

    /// The `AWS_*` variables that point object_store at this server.
    fn env(&self) -> [(&'static str, String); 6] {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_VIRTUAL_HOSTED_STYLE_REQUEST", "false".into()),
        ]
    }

    /// The same store in this process (built as `Store::open` builds an `s3://` one, from
    /// explicit options in place of the environment).
    fn store(&self) -> Store {
        let s3 = object_store::aws::AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_access_key_id(ACCESS_KEY)
            .with_secret_access_key(SECRET_KEY)
            .with_region("us-east-1")
            .with_virtual_hosted_style_request(false)
            .with_bucket_name(BUCKET)
            .build()
            .unwrap();
        Store::from_object_store(
            Arc::new(object_store::prefix::PrefixStore::new(s3, PREFIX)),
            "s3 test store",
        )
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The `coredump-service` binary, run with `--store s3://BUCKET/PREFIX` against `s3`; killed
/// on drop.
struct ServiceProcess {
    url: String,
    child: Child,
    log: Arc<Mutex<String>>,
}

impl ServiceProcess {
    fn start(s3: &S3Server) -> ServiceProcess {
        let mut command = Command::new(env!("CARGO_BIN_EXE_coredump-service"));
        command
            .args(["--listen", "127.0.0.1:0"])
            .args(["--store", &format!("s3://{BUCKET}/{PREFIX}")])
            .env("RUST_LOG", "coredump_service=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        // Nothing of the machine's own AWS setup.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("AWS_") {
                command.env_remove(name);
            }
        }
        for name in [
            "COREDUMP_SERVICE_INGEST_TOKEN",
            "COREDUMP_SERVICE_READ_TOKEN",
            "COREDUMP_SERVICE_SENTRY_DSN",
            "COREDUMP_SERVICE_MAX_BODY",
        ] {
            command.env_remove(name);
        }
        command.envs(s3.env());
        let mut child = command.spawn().unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut seen = String::new();
        let url = loop {
            let mut line = String::new();
            if stderr.read_line(&mut line).unwrap() == 0 {
                let _ = child.wait();
                panic!("coredump-service stopped before listening:\n{seen}");
            }
            seen.push_str(&line);
            if let Some(url) = line.trim().strip_prefix("coredump-service listening on ") {
                break url.to_string();
            }
        };
        let log = Arc::new(Mutex::new(seen));
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in stderr.lines() {
                let Ok(line) = line else { break };
                let mut log = kept.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        ServiceProcess { url, child, log }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The objects under the service's prefix, as paths relative to it.
fn objects(s3: &S3Server) -> Vec<String> {
    let dir = s3.prefix_dir();
    files_under(&dir)
        .iter()
        .map(|f| f.strip_prefix(&dir).unwrap().display().to_string())
        .collect()
}

/// s3s-fs's own files of unfinished multipart uploads (at the root of its directory).
fn upload_leftovers(s3: &S3Server) -> Vec<String> {
    std::fs::read_dir(&s3.root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|name| name.starts_with(".upload"))
        .collect()
}

/// A valid core dump whose memory is `len` random bytes (gzip cannot shrink it).

#[test]
fn the_pipeline_runs_on_an_s3_server() {
    let dir = tempfile::tempdir().unwrap();
    let s3 = S3Server::start(&dir.path().join("s3"));
    let service = ServiceProcess::start(&s3);
    let (built, core) = mything_dump(&dir.path().join("built"));

    let put = upload_debug_file(&service.url, &built, None);
    assert_eq!(
        put.status(),
        201,
        "{}\n{}",
        put.text().unwrap(),
        service.log()
    );
    // Again: create-if-absent finds it, and it is the same file.
    let again = upload_debug_file(&service.url, &built, None);
    assert_eq!(again.status(), 200, "{}", again.text().unwrap());

    let module = std::fs::read(&built.app).unwrap();
    let request =
        serde_json::json!({"method": "GET", "url": "https://example.com/s3", "headers": {}});
    let response = client()
        .post(service.url("/"))
        .multipart(older_client_form(
            core.clone(),
            &request,
            build_id_payload(&module),
        ))
        .send()
        .unwrap();
    let status = response.status();
    let text = response.text().unwrap();
    assert_eq!(status, 200, "{text}\n{}", service.log());
    let answer: Value = serde_json::from_str(&text).unwrap();
    let key = answer["key"].as_str().unwrap().to_string();
    assert_eq!(answer["symbolized"], true, "{answer}");

    // Read back: the dump byte for byte, the stack, the list, the groups.
    let stored = client()
        .get(service.url(&format!("/coredumps/{key}")))
        .send()
        .unwrap();
    assert_eq!(stored.status(), 200);
    assert_eq!(stored.bytes().unwrap().as_ref(), &core[..]);
    let stack = get_json(&service.url(&format!("/coredumps/{key}/stack")));
    let functions: Vec<&str> = stack["frames"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["function"].as_str())
        .collect();
    assert!(
        functions.contains(&"mything::calculate"),
        "{functions:?}\n{stack:#}"
    );
    let list = get_json(&service.url("/coredumps"));
    assert_eq!(list["coredumps"][0]["key"], key.as_str(), "{list:#}");
    assert_eq!(list["coredumps"][0]["build_id"], built.build_id.as_str());
    assert_eq!(
        list["coredumps"][0]["request_url"],
        "https://example.com/s3"
    );
    let groups = get_json(&service.url("/groups"));
    let groups = groups["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{groups:#?}");
    assert_eq!(groups[0]["count"], 1);
    assert_eq!(groups[0]["last_key"], key.as_str());
    let debug = client()
        .get(service.url(&format!("/debuginfo/{}", built.build_id)))
        .send()
        .unwrap();
    assert_eq!(
        debug.bytes().unwrap().as_ref(),
        &std::fs::read(&built.debug_file).unwrap()[..]
    );

    // The objects really are files of the S3 server, under the bucket and the prefix.
    let prefix = s3.prefix_dir();
    assert_eq!(
        gunzip(&std::fs::read(prefix.join(format!("coredumps/{key}.wasm.gz"))).unwrap()),
        core
    );
    assert_eq!(
        std::fs::read(prefix.join(format!("debuginfo/debug-{}.wasm", built.build_id))).unwrap(),
        std::fs::read(&built.debug_file).unwrap()
    );
    let objects = objects(&s3);
    let group = groups[0]["group"].as_str().unwrap();
    for (what, start) in [
        ("record", "records/".to_string()),
        ("group member", format!("groups/{group}/")),
    ] {
        assert!(
            objects
                .iter()
                .any(|o| o.starts_with(&start) && o.ends_with(&key)),
            "no {what} of {key}: {objects:#?}"
        );
    }
    assert_eq!(objects.len(), 4, "{objects:#?}");
    // A different file under the same id is refused (409): found through create-if-absent.
    let id = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9";
    let first = common::split_with_id(Profile::Debug, id, &dir.path().join("given-debug"));
    let second = common::split_with_id(Profile::Release, id, &dir.path().join("given-release"));
    assert_eq!(upload_debug_file(&service.url, &first, None).status(), 201);
    let conflict = upload_debug_file(&service.url, &second, None);
    assert_eq!(conflict.status(), 409, "{}", conflict.text().unwrap());
    assert_eq!(
        std::fs::read(prefix.join(format!("debuginfo/debug-{id}.wasm"))).unwrap(),
        std::fs::read(&first.debug_file).unwrap()
    );
}

#[test]
fn a_dump_over_the_upload_buffer_goes_up_in_parts() {
    let dir = tempfile::tempdir().unwrap();
    let s3 = S3Server::start(&dir.path().join("s3"));
    let service = ServiceProcess::start(&s3);
    // 20 MiB of random memory: over the 8 MiB buffered before a multipart upload, even gzipped.
    let dump = crafted_dump(20 << 20, |d| rand::rng().fill(d));
    let (content_type, body) = multipart_body(&[FormPart {
        name: "coredump",
        file_name: Some("coredump"),
        bytes: &dump,
    }]);

    // Cut off at 15 MiB, after its upload started: refused, and the upload is aborted.
    let start = body.windows(4).position(|w| w == b"\0asm").unwrap();
    let response = client()
        .post(service.url("/"))
        .header(CONTENT_TYPE, &content_type)
        .body(body[..start + (15 << 20)].to_vec())
        .send()
        .unwrap();
    let status = response.status();
    let text = response.text().unwrap();
    assert_eq!(status, 400, "{text}\n{}", service.log());
    assert!(text.contains("breaks off"), "{text}");
    assert_eq!(objects(&s3), Vec::<String>::new());
    assert_eq!(upload_leftovers(&s3), Vec::<String>::new());

    // Whole: stored in parts, read back equal.
    let response = client()
        .post(service.url("/"))
        .header(CONTENT_TYPE, &content_type)
        .body(body)
        .send()
        .unwrap();
    let status = response.status();
    let text = response.text().unwrap();
    assert_eq!(status, 200, "{text}\n{}", service.log());
    let answer: Value = serde_json::from_str(&text).unwrap();
    let key = answer["key"].as_str().unwrap();
    let stored = client()
        .get(service.url(&format!("/coredumps/{key}")))
        .send()
        .unwrap();
    assert_eq!(stored.status(), 200);
    let stored = stored.bytes().unwrap();
    assert_eq!(stored.len(), dump.len());
    assert!(stored.as_ref() == &dump[..], "the dump comes back changed");
    let object = s3.prefix_dir().join(format!("coredumps/{key}.wasm.gz"));
    let size = std::fs::metadata(&object).unwrap().len();
    assert!(
        size > 8 << 20,
        "{size} bytes stored: not a multipart upload"
    );
    assert!(gunzip(&std::fs::read(&object).unwrap()) == dump);
    assert_eq!(upload_leftovers(&s3), Vec::<String>::new());
    let list = get_json(&service.url("/coredumps"));
    assert_eq!(list["coredumps"][0]["key"], key, "{list:#}");
    assert_eq!(list["coredumps"][0]["size"], dump.len() as u64);
}

#[test]
fn create_if_absent_holds_on_s3s_fs() {
    let dir = tempfile::tempdir().unwrap();
    let s3 = S3Server::start(&dir.path().join("s3"));
    let store = s3.store();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        // s3s-fs 0.14.1 honours `If-None-Match: *` on PutObject (412 when the key exists),
        // which object_store turns into AlreadyExists. It answers the 412 before it reads the
        // body, though, so a create of megabytes over an existing key may end as a broken
        // connection (object_store: "error sending request") instead: why the service looks
        // for a debug file before it creates one. Small bodies, as here, always get the 412.
        let path = StorePath::from("debuginfo/debug-x.wasm");
        let first = store
            .create(&path, Bytes::from_static(b"first"))
            .await
            .unwrap();
        assert_eq!(first, Created::New);
        let second = store
            .create(&path, Bytes::from_static(b"second"))
            .await
            .unwrap();
        assert_eq!(
            second,
            Created::Exists,
            "s3s-fs replaced an existing object"
        );
        assert_eq!(
            store.get(&path).await.unwrap().unwrap(),
            Bytes::from_static(b"first")
        );
        assert_eq!(
            std::fs::read(s3.prefix_dir().join("debuginfo/debug-x.wasm")).unwrap(),
            b"first"
        );

        // Racing creates: s3s-fs checks for the file, then writes it, so two creates at once
        // may both be told New (a limitation of s3s-fs, not of real S3 or R2, which decide
        // atomically). Whatever it told them, the object is whole and is one that was written.
        let path = StorePath::from("race/object");
        let tries: Vec<_> = (0..16u8)
            .map(|i| {
                let store = store.clone();
                let path = path.clone();
                tokio::spawn(async move {
                    let bytes = Bytes::from(vec![i; 64 << 10]);
                    (i, store.create(&path, bytes).await.unwrap())
                })
            })
            .collect();
        let mut new = Vec::new();
        for task in tries {
            let (i, created) = task.await.unwrap();
            if created == Created::New {
                new.push(i);
            }
        }
        assert!(!new.is_empty());
        let stored = store.get(&path).await.unwrap().unwrap();
        assert_eq!(stored.len(), 64 << 10);
        assert!(
            new.contains(&stored[0]) && stored.iter().all(|b| *b == stored[0]),
            "the object is not one a create that succeeded wrote"
        );
        eprintln!("16 racing creates: {} told New: {new:?}", new.len());
    });
}
