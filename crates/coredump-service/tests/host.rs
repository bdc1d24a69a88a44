//! host/coredump.mjs, the JS client hosts use, under Node against the running service: the
//! dump it sends (gzip-compressed, with the module's build_id) is stored as the memory was, and
//! symbolizes to the frames and crash reason the program's source and std's own message give.

mod common;

use std::process::Command;

use common::{Running, build, config, get_bytes, get_json, upload_debug_file};
use serde_json::Value;
use wasm_coredump_tests::{Fixture, NodeCommand, Profile, workspace_root};

/// Runs `host/test/record.mjs` on `app`, posting to `url`; gives its JSON line and stderr.
fn record(
    url: &str,
    app: &std::path::Path,
    core: &std::path::Path,
    args: &[&str],
) -> (Value, String) {
    let output = Command::new("node")
        .arg(workspace_root().join("host/test/record.mjs"))
        .args(["--endpoint", &format!("{url}/")])
        .args([
            "--request",
            r#"{"method":"GET","url":"https://example.com/users/42","headers":{"accept":"*/*"}}"#,
        ])
        .arg("--core")
        .arg(core)
        .arg(app)
        .args(args)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let last = stdout.lines().last().unwrap_or_default();
    (
        serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {last:?}")),
        stderr,
    )
}

#[test]
fn the_js_client_sends_a_dump_that_symbolizes() {
    let dir = tempfile::tempdir().unwrap();
    let service = Running::start(config(&dir.path().join("store")));
    for kind in [Fixture::UnwrapNone, Fixture::IndexOob] {
        let built = build(kind, Profile::Debug, &dir.path().join(kind.package()));
        assert_eq!(upload_debug_file(&service.url, &built, None).status(), 201);
        let core = dir.path().join(format!("{}.core", kind.package()));
        let (result, stderr) = record(&service.url, &built.app, &core, &[]);
        assert_eq!(result["trapped"], true, "{result}\n{stderr}");
        assert_eq!(result["ok"], true, "{result}\n{stderr}");
        let key = result["key"].as_str().unwrap();

        // The stored dump is the memory the host saw, byte for byte.
        let stored = get_bytes(&format!("{}/coredumps/{key}", service.url));
        assert_eq!(stored, std::fs::read(&core).unwrap(), "{kind}");
        let record: Value = get_json(&format!("{}/coredumps", service.url));
        assert_eq!(
            record["coredumps"][0]["encoding"], "gzip",
            "the client compresses"
        );
        assert_eq!(
            record["coredumps"][0]["request_url"],
            "https://example.com/users/42"
        );

        // What std printed for the same crash is the crash reason.
        let run = NodeCommand::new(&built.app).run();
        let std_said = format!(
            "panicked at {}: {}",
            run.panic_location().unwrap(),
            run.panic_text().unwrap()
        );
        let stack: Value = get_json(&format!("{}/coredumps/{key}/stack", service.url));
        assert_eq!(stack["crash"]["title"], std_said.as_str(), "{kind}");
        // The panic's own location is an in-app frame of the stack, at that line.
        let (file, line) = {
            let mut parts = run.panic_location().unwrap().split(':');
            (
                parts.next().unwrap().to_string(),
                parts.next().unwrap().parse::<u64>().unwrap(),
            )
        };
        assert!(
            stack["frames"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["in_app"] == true && f["file"] == file.as_str() && f["line"] == line),
            "{kind}: no in-app frame at {file}:{line}: {stack:#}"
        );
    }
    service.stop().unwrap();
}

#[test]
fn the_js_client_never_throws_when_the_service_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let built = build(Fixture::MyThing, Profile::Debug, &dir.path().join("build"));
    // Nothing listens on this port once the listener is dropped.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (result, stderr) = record(
        &format!("http://127.0.0.1:{port}"),
        &built.app,
        &dir.path().join("core"),
        &[],
    );
    assert_eq!(result["trapped"], true);
    assert_eq!(result["ok"], false, "{result}");
    let said: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("coredump:"))
        .collect();
    assert_eq!(said.len(), 1, "one line: {stderr}");
    assert!(said[0].contains("ECONNREFUSED"), "{stderr}");
}
