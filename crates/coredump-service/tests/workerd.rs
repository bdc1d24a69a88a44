//! A Worker in workerd, Cloudflare's runtime (npm `workerd`), runs a rewritten crash fixture,
//! catches the trap and posts the dump with host/coredump.mjs through a service binding, as
//! deployed Workers do; the running service stores and symbolizes it.

mod common;

use std::process::Command;

use common::{Running, build, config, get_json, upload_debug_file};
use serde_json::Value;
use wasm_coredump_tests::{Fixture, Profile, workspace_root};

#[test]
fn a_worker_in_workerd_sends_its_dump_through_a_service_binding() {
    let dir = tempfile::tempdir().unwrap();
    let service = Running::start(config(&dir.path().join("store")));
    // cdylib-panic needs no WASI, which workerd does not have: `process(7)` indexes
    // `[5, 6, 7, 8]` out of bounds in `lookup`.
    let kind = Fixture::CdylibPanic;
    let built = build(kind, Profile::Debug, &dir.path().join("build"));
    assert_eq!(upload_debug_file(&service.url, &built, None).status(), 201);
    let output = Command::new("node")
        .arg(workspace_root().join("tests/workerd/run.mjs"))
        .args(["--via", "binding"])
        .arg(&built.app)
        .arg(format!("{}/", service.url))
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let answer: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(answer["ok"], true, "{answer}\n{stderr}");
    let key = answer["key"].as_str().unwrap();

    let stack: Value = get_json(&format!("{}/coredumps/{key}/stack", service.url));
    let location = kind.source_location("table[index]", "table[index]");
    assert_eq!(
        stack["crash"]["title"],
        format!("panicked at {location}: index out of bounds: the len is 4 but the index is 7")
            .as_str()
    );
    let app: Vec<&str> = stack["frames"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["in_app"] == true)
        .map(|f| f["function"].as_str().unwrap())
        .collect();
    assert_eq!(app, ["cdylib_panic::lookup", "process"], "{stack:#}");
    let list: Value = get_json(&format!("{}/coredumps", service.url));
    // The Worker's own request, as the host saw it.
    assert!(
        list["coredumps"][0]["request_url"]
            .as_str()
            .is_some_and(|u| u.starts_with("http")),
        "{list:#}"
    );
    service.stop().unwrap();
}
