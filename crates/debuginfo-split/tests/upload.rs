//! `--upload`: the debug file PUT to coredump-service's `/debuginfo/<ID>`, against a stand-in
//! server on 127.0.0.1 that records each request and answers as the service does.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use common::*;
use wasm_coredump_tests::http_stub::{Server, clear_client_env, json_error, refused_url};

/// Runs the binary in `dir` with `args`, with no token in the environment and no proxy.
fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_debuginfo-split"));
    clear_client_env(&mut cmd)
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied());
    cmd.output().expect("run debuginfo-split")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A temporary directory holding `m.wasm`, a module with DWARF, and that module.
fn dir_with_module() -> (tempfile::TempDir, Vec<u8>) {
    let input = module_with_dwarf();
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("m.wasm"), &input).unwrap();
    (dir, input)
}

/// The build id the text output's first line prints.
fn build_id(stdout: &str) -> String {
    let first = stdout.lines().next().unwrap_or_default();
    first.strip_prefix("build_id: ").expect(stdout).to_owned()
}

/// Checks that the split was written despite anything that happened after: the module stripped
/// and the debug file the input plus its build_id.
fn assert_split_written(dir: &Path, input: &[u8], id: &str) {
    let stripped = fs::read(dir.join("m.wasm")).unwrap();
    let debug = fs::read(dir.join(format!("debug-{id}.wasm"))).unwrap();
    assert!(!has_dwarf(&stripped));
    assert!(has_dwarf(&debug));
    assert_eq!(debug[..input.len()], input[..]);
}

#[test]
fn upload_puts_the_debug_file_with_the_bearer_token() {
    let server = Server::start(|_| (201, "application/json", b"{}".to_vec()));
    let (dir, input) = dir_with_module();
    // A trailing slash on the base URL is tolerated.
    let base = format!("{}/", server.url());
    let out = run(
        dir.path(),
        &["m.wasm", "--upload", &base, "--token", "s3cret"],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    let stdout = text(&out.stdout);
    let id = build_id(&stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert_eq!(
        lines[3],
        format!(
            "uploaded debug-{id}.wasm to {}/debuginfo/{id} (201 Created)",
            server.url()
        )
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let put = &requests[0];
    assert_eq!(put.method, "PUT");
    assert_eq!(put.path, format!("/debuginfo/{id}"));
    assert_eq!(put.header("authorization"), Some("Bearer s3cret"));
    assert_eq!(put.header("content-type"), Some("application/wasm"));
    let debug = fs::read(dir.path().join(format!("debug-{id}.wasm"))).unwrap();
    assert_eq!(put.body, debug, "the body is the debug file as written");
    assert_split_written(dir.path(), &input, &id);
}

/// The token from the environment; 200 (the service had the same file) is a success too; no
/// token, no Authorization header.
#[test]
fn token_from_the_environment_and_200_for_a_file_already_there() {
    let server = Server::start(|_| (200, "application/json", b"{}".to_vec()));
    let (dir, _) = dir_with_module();
    let env = [("COREDUMP_SERVICE_TOKEN", "from-env")];
    let out = run(dir.path(), &["m.wasm", "--upload", &server.url()], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.ends_with(" (200 OK)\n"), "{stdout}");
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some("Bearer from-env")
    );

    let (dir, _) = dir_with_module();
    let out = run(
        dir.path(),
        &["m.wasm", "--upload", &server.url(), "--json"],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    let id = v["build_id"].as_str().unwrap();
    assert_eq!(
        v["upload"],
        serde_json::json!({"url": format!("{}/debuginfo/{id}", server.url()), "status": 200})
    );
    assert_eq!(server.requests()[1].header("authorization"), None);
}

/// Each refusal of the service is one `error:` line with its status and its JSON error text;
/// exit 1; the files written stay.
#[test]
fn refusals_are_one_error_line_and_the_files_stay() {
    let cases = [
        (
            409,
            "a different debug file is stored under this build_id",
            "409 Conflict",
        ),
        (401, "invalid token", "401 Unauthorized"),
        (400, "the file has no DWARF", "400 Bad Request"),
        (413, "too large", "413 Payload Too Large"),
    ];
    for (status, message, status_line) in cases {
        let server = Server::start(move |_| json_error(status, message));
        let (dir, input) = dir_with_module();
        let out = run(
            dir.path(),
            &["m.wasm", "--upload", &server.url(), "--token", "t"],
            &[],
        );
        assert_eq!(out.status.code(), Some(1), "{status}");
        let stdout = text(&out.stdout);
        let id = build_id(&stdout);
        assert_eq!(stdout.lines().count(), 3, "what was written: {stdout}");
        assert_eq!(
            text(&out.stderr),
            format!(
                "error: cannot upload debug-{id}.wasm to {}/debuginfo/{id}: {status_line}: \
                 {message}\n",
                server.url()
            )
        );
        assert_eq!(server.requests().len(), 1);
        assert_split_written(dir.path(), &input, &id);
    }

    // With --json the object says it too.
    let server = Server::start(|_| json_error(409, "different file"));
    let (dir, _) = dir_with_module();
    let out = run(
        dir.path(),
        &["m.wasm", "--upload", &server.url(), "--json"],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(v["status"], "split");
    assert_eq!(v["upload"]["status"], 409);
    assert_eq!(v["upload"]["error"], "409 Conflict: different file");
    assert!(text(&out.stderr).starts_with("error: cannot upload "));
}

#[test]
fn connection_refused_is_one_error_line_naming_the_url() {
    let base = refused_url();
    let (dir, input) = dir_with_module();
    let out = run(dir.path(), &["m.wasm", "--upload", &base], &[]);
    assert_eq!(out.status.code(), Some(1));
    let id = build_id(&text(&out.stdout));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let prefix = format!("error: cannot upload debug-{id}.wasm to {base}/debuginfo/{id}: ");
    assert!(stderr.starts_with(&prefix), "{stderr}");
    assert!(stderr.to_lowercase().contains("refused"), "{stderr}");
    assert_split_written(dir.path(), &input, &id);
}

#[test]
fn no_dwarf_uploads_nothing_and_bad_urls_are_usage_errors() {
    let server = Server::start(|_| (201, "application/json", b"{}".to_vec()));
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("m.wasm"), base_module()).unwrap();
    let out = run(dir.path(), &["m.wasm", "--upload", &server.url()], &[]);
    assert_eq!(out.status.code(), Some(0));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("note: m.wasm has no DWARF to move: "),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("\nwarning: no debug file was written: nothing uploaded\n"),
        "{stderr}"
    );
    assert!(server.requests().is_empty());

    for url in ["ftp://h/", "127.0.0.1:8080", "http://"] {
        let out = run(dir.path(), &["m.wasm", "--upload", url], &[]);
        assert_eq!(out.status.code(), Some(2), "{url}");
    }
}
