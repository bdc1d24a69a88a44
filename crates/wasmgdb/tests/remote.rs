//! A core dump given as a URL and `--debug-url`, against a stand-in for coredump-service on
//! 127.0.0.1 that records each request: the committed files of tests/build-id-forms/spec (a
//! stripped module, its debug file, a dump of it) served as the service serves them.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use wasm_coredump_tests::http_stub::{
    Request, Response, Server, clear_client_env, json_error, refused_url,
};
use wasm_coredump_tests::workspace_root;

/// The committed files: the stripped module, the dump, the debug file's name and bytes.
struct Files {
    module: Vec<u8>,
    dump: Vec<u8>,
    id: String,
    debug: Vec<u8>,
}

fn spec_files() -> Files {
    let dir = workspace_root().join("tests/build-id-forms/spec");
    let mut debug = None;
    for entry in fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if let Some(id) = name
            .strip_prefix("debug-")
            .and_then(|n| n.strip_suffix(".wasm"))
        {
            debug = Some((id.to_owned(), fs::read(dir.join(&name)).unwrap()));
        }
    }
    let (id, debug) = debug.expect("a debug file in spec/");
    Files {
        module: fs::read(dir.join("app.wasm")).unwrap(),
        dump: fs::read(dir.join("app.coredump")).unwrap(),
        id,
        debug,
    }
}

/// A directory holding only the stripped module (its debug file is not beside it).
fn shipped(files: &Files) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("app.wasm");
    fs::write(&module, &files.module).unwrap();
    (dir, module)
}

/// The service: the dump at `/coredumps/k1`, the debug file at `/debuginfo/<id>` (when
/// `with_debug`), else 404.
fn service(files: &Files, with_debug: bool) -> Server {
    let (dump, debug, id) = (files.dump.clone(), files.debug.clone(), files.id.clone());
    Server::start(move |r: &Request| -> Response {
        match r.path.as_str() {
            "/coredumps/k1" => (200, "application/wasm", dump.clone()),
            p if with_debug && p == format!("/debuginfo/{id}") => {
                (200, "application/wasm", debug.clone())
            }
            p if p.starts_with("/coredumps/") => json_error(404, "no such core dump"),
            _ => json_error(404, "no such debug file"),
        }
    })
}

/// Runs `wasmgdb -batch -ex bt ARGS` without the variables that would change what it does.
fn wasmgdb(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasmgdb"));
    clear_client_env(&mut cmd)
        .env_remove("WASMGDB_CACHE_DIR")
        .env_remove("XDG_CACHE_HOME")
        .args(["-batch", "-ex", "bt"])
        .args(args)
        .envs(env.iter().copied());
    cmd.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The 1-based line of crash.c holding `snippet`.
fn crash_c_line(snippet: &str) -> usize {
    let source = fs::read_to_string(workspace_root().join("tests/build-id-forms/crash.c")).unwrap();
    source.lines().position(|l| l.contains(snippet)).unwrap() + 1
}

/// Checks that `bt` shows crash.c's functions with their lines (the debug file was used).
fn assert_symbolized(bt: &str) {
    let trap = crash_c_line("__builtin_trap()");
    let call = crash_c_line("int clamped = clamp(value);");
    assert!(
        bt.contains(&format!(" in clamp (value=-5) at crash.c:{trap}\n")),
        "{bt}"
    );
    assert!(
        bt.contains(&format!(" in check (value=-5) at crash.c:{call}\n")),
        "{bt}"
    );
}

fn paths(requests: &[Request]) -> Vec<&str> {
    requests.iter().map(|r| r.path.as_str()).collect()
}

/// The dump and the debug file fetched with the token, the debug file kept in the cache; the
/// second run asks the service for the dump only.
#[test]
fn dump_url_and_debug_url_then_the_cache() {
    let files = spec_files();
    let server = service(&files, true);
    let (dir, module) = shipped(&files);
    let cache = dir.path().join("cache");
    let dump_url = format!("{}/coredumps/k1", server.url());
    let args = [
        "--debug-url",
        &server.url(),
        "--cache-dir",
        cache.to_str().unwrap(),
        "--token",
        "tok",
        module.to_str().unwrap(),
        &dump_url,
    ];
    let first = wasmgdb(&args, &[]);
    let stderr = text(&first.stderr);
    assert!(first.status.success(), "{stderr}");
    let bt = text(&first.stdout);
    assert_symbolized(&bt);
    assert!(!stderr.contains("warning"), "{stderr}");
    let debug_name = format!("debug-{}.wasm", files.id);
    let cached = cache.join(&debug_name);
    assert!(
        stderr.contains(&format!(
            "note: fetched {debug_name} ({} bytes) from {}/debuginfo/{} into {}\n",
            files.debug.len(),
            server.url(),
            files.id,
            cached.display()
        )),
        "{stderr}"
    );
    let requests = server.requests();
    assert_eq!(
        paths(&requests),
        [
            "/coredumps/k1".to_string(),
            format!("/debuginfo/{}", files.id)
        ]
    );
    for r in &requests {
        assert_eq!(r.method, "GET");
        assert_eq!(r.header("authorization"), Some("Bearer tok"), "{}", r.path);
    }
    // Cached whole, and no temporary file left.
    assert_eq!(fs::read(&cached).unwrap(), files.debug);
    assert_eq!(fs::read_dir(&cache).unwrap().count(), 1);

    let second = wasmgdb(&args, &[]);
    assert!(second.status.success(), "{}", text(&second.stderr));
    assert_eq!(text(&second.stdout), bt);
    assert!(!text(&second.stderr).contains("fetched"));
    assert_eq!(
        paths(&server.requests()[2..]),
        ["/coredumps/k1"],
        "the debug file comes from the cache"
    );
}

/// The cache directory's defaults: WASMGDB_CACHE_DIR, else $XDG_CACHE_HOME/wasmgdb/debuginfo.
/// A local dump and no token: no Authorization header.
#[test]
fn cache_directory_from_the_environment() {
    let files = spec_files();
    let server = service(&files, true);
    let (dir, module) = shipped(&files);
    let dump = dir.path().join("app.coredump");
    fs::write(&dump, &files.dump).unwrap();
    let args = [
        "--debug-url",
        &server.url(),
        module.to_str().unwrap(),
        dump.to_str().unwrap(),
    ];
    let debug_name = format!("debug-{}.wasm", files.id);

    let xdg = dir.path().join("xdg");
    let out = wasmgdb(&args, &[("XDG_CACHE_HOME", xdg.to_str().unwrap())]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_symbolized(&text(&out.stdout));
    let cached = xdg.join("wasmgdb/debuginfo").join(&debug_name);
    assert_eq!(fs::read(cached).unwrap(), files.debug);

    let mine = dir.path().join("mine");
    let out = wasmgdb(&args, &[("WASMGDB_CACHE_DIR", mine.to_str().unwrap())]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(fs::read(mine.join(&debug_name)).unwrap(), files.debug);

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests.iter().all(|r| r.header("authorization").is_none()));
}

/// A 404 for the debug file: names only, as without a debug file, with a note naming the URL.
#[test]
fn no_debug_file_on_the_service_is_a_note_naming_the_url() {
    let files = spec_files();
    let server = service(&files, false);
    let (dir, module) = shipped(&files);
    let cache = dir.path().join("cache");
    let dump_url = format!("{}/coredumps/k1", server.url());
    let out = wasmgdb(
        &[
            "--debug-url",
            &server.url(),
            "--cache-dir",
            cache.to_str().unwrap(),
            module.to_str().unwrap(),
            &dump_url,
        ],
        &[],
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let url = format!("{}/debuginfo/{}", server.url(), files.id);
    assert!(
        stderr.contains(&format!("note: no debug file at {url} (404 Not Found)\n")),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: no DWARF in ") && stderr.contains("no debug file found"),
        "{stderr}"
    );
    let bt = text(&out.stdout);
    assert!(bt.contains(" in clamp "), "the name section: {bt}");
    assert!(!bt.contains("crash.c"), "{bt}");
    assert!(!cache.join(format!("debug-{}.wasm", files.id)).exists());
}

/// Refusals and network errors: one `error:` line naming the URL, status 1.
#[test]
fn service_errors_are_one_error_line_naming_the_url() {
    let files = spec_files();
    let (dir, module) = shipped(&files);
    let m = module.to_str().unwrap();
    let cache = dir.path().join("cache");
    let cache = cache.to_str().unwrap();
    let dump = dir.path().join("app.coredump");
    fs::write(&dump, &files.dump).unwrap();
    let dump = dump.to_str().unwrap();
    let check = |out: &Output, expected: &str| {
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with(expected), "{expected}: {stderr}");
        assert_eq!(text(&out.stdout), "");
    };

    // Unknown dump key, as the service answers it.
    let server = service(&files, true);
    let url = format!("{}/coredumps/nope", server.url());
    let out = wasmgdb(&[m, &url], &[]);
    check(
        &out,
        &format!("error: cannot fetch {url}: 404 Not Found: no such core dump\n"),
    );

    // A bad token, for the dump and for the debug file.
    let unauthorized = Server::start(|_| json_error(401, "invalid bearer token"));
    let url = format!("{}/coredumps/k1", unauthorized.url());
    let out = wasmgdb(&[m, &url, "--token", "wrong"], &[]);
    check(
        &out,
        &format!("error: cannot fetch {url}: 401 Unauthorized: invalid bearer token\n"),
    );
    let out = wasmgdb(
        &[
            "--debug-url",
            &unauthorized.url(),
            "--cache-dir",
            cache,
            m,
            dump,
        ],
        &[],
    );
    let url = format!("{}/debuginfo/{}", unauthorized.url(), files.id);
    check(
        &out,
        &format!("error: cannot fetch {url}: 401 Unauthorized: invalid bearer token\n"),
    );
    assert_eq!(
        unauthorized.requests()[0].header("authorization"),
        Some("Bearer wrong")
    );

    // Nothing listening.
    let refused = refused_url();
    let url = format!("{refused}/coredumps/k1");
    let out = wasmgdb(&[m, &url], &[]);
    check(&out, &format!("error: cannot fetch {url}: "));
    assert!(text(&out.stderr).to_lowercase().contains("refused"));
    let out = wasmgdb(
        &["--debug-url", &refused, "--cache-dir", cache, m, dump],
        &[],
    );
    check(
        &out,
        &format!("error: cannot fetch {refused}/debuginfo/{}: ", files.id),
    );

    // A file that is not the debug file (the stripped module itself: no DWARF) is not cached.
    let stripped = files.module.clone();
    let wrong = Server::start(move |_| (200, "application/wasm", stripped.clone()));
    let out = wasmgdb(
        &["--debug-url", &wrong.url(), "--cache-dir", cache, m, dump],
        &[],
    );
    check(
        &out,
        &format!(
            "error: {}/debuginfo/{} sent a module without DWARF\n",
            wrong.url(),
            files.id
        ),
    );
    assert!(!Path::new(cache).exists() || fs::read_dir(cache).unwrap().count() == 0);

    // Not an http(s) URL: a usage error.
    let out = wasmgdb(&["--debug-url", "ftp://h", m, dump], &[]);
    assert_eq!(out.status.code(), Some(2));
}
