//! Real core dumps for the tests: a fixture, rewritten by `wasm-coredump-rewriter`, run under
//! Node (the production host path), its memory image saved to a file.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use wasm_coredump_tests::{Fixture, NodeCommand, Profile, fixture};

/// The directory the tests write rewritten modules and dumps to.
pub fn tmp_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wasmgdb");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A dump of `kind` (built with `profile`, run with `args`) and the paths of the original and
/// the rewritten module.
#[derive(Debug, Clone)]
pub struct Dump {
    /// The fixture as built (with DWARF; the dump's offsets map to it through the original
    /// offsets section).
    pub original: PathBuf,
    /// The rewritten module that ran.
    pub rewritten: PathBuf,
    /// The core dump file.
    pub dump: PathBuf,
}

/// Rewrites the fixture, runs it under Node and saves its dump, once per test binary and key.
pub fn rewritten_dump(kind: Fixture, profile: Profile, args: &[&str]) -> Dump {
    static CACHE: OnceLock<Mutex<HashMap<String, Dump>>> = OnceLock::new();
    let key = format!(
        "{kind}-{profile}{}",
        args.iter().map(|a| format!("-{a}")).collect::<String>()
    );
    let mut cache = CACHE.get_or_init(Default::default).lock().unwrap();
    if let Some(d) = cache.get(&key) {
        return d.clone();
    }
    let original = fixture(kind, profile);
    let input = std::fs::read(&original).unwrap();
    let out = rewriter::rewrite(&input, &rewriter::Options::default()).unwrap();
    let dir = tmp_dir();
    // Each test binary writes its own files, then renames them into place, so test binaries
    // running at the same time never read a half-written file.
    let pid = std::process::id();
    let rewritten = dir.join(format!("{key}.rewritten.wasm"));
    let tmp = dir.join(format!("{key}.{pid}.wasm.tmp"));
    std::fs::write(&tmp, &out.module).unwrap();
    let mut cmd = NodeCommand::new(&tmp);
    cmd.args(args);
    let run = cmd.run();
    let core = run
        .core
        .unwrap_or_else(|| panic!("{key}: no core dump: {}", run.stderr));
    std::fs::rename(&tmp, &rewritten).unwrap();
    let dump = dir.join(format!("{key}.coredump"));
    let tmp = dir.join(format!("{key}.{pid}.coredump.tmp"));
    std::fs::write(&tmp, &core).unwrap();
    std::fs::rename(&tmp, &dump).unwrap();
    let d = Dump {
        original,
        rewritten,
        dump,
    };
    cache.insert(key, d.clone());
    d
}

/// Runs `commands` against `module` and `dump` through the library, as a terminal would show
/// them: `(wasmgdb) CMD` then its output or error. Notes first.
pub fn transcript(module: &Path, dump: &Path, commands: &[&str]) -> String {
    let bytes = std::fs::read(dump).unwrap();
    let mut session =
        wasmgdb::Session::load(module, &bytes, &wasmgdb::LoadOptions::default()).unwrap();
    let mut out = String::new();
    for note in session.notes() {
        out.push_str(note);
        out.push('\n');
    }
    out.push_str(&session.termination());
    out.push('\n');
    for cmd in commands {
        out.push_str(&format!("(wasmgdb) {cmd}\n"));
        match session.run_line(cmd) {
            Ok(wasmgdb::Outcome::Reply(r)) => out.push_str(&r.text),
            Ok(wasmgdb::Outcome::Quit) => break,
            Err(e) => out.push_str(&format!("{e}\n")),
        }
    }
    out
}

/// How long the `wasmgdb` binary may run in a test: past it, it is killed and the test fails
/// (a regression that hangs, on a FIFO say, fails instead of stalling the suite).
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// Runs the `wasmgdb` binary with `args` and `stdin` as its input, and returns what it printed.
/// Panics if it runs longer than [`TIMEOUT`].
pub fn wasmgdb(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wasmgdb"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_string();
    // A failed write is the binary not reading all of its input (it quit): not an error.
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(stdin.as_bytes());
    });
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).unwrap();
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("wasmgdb {args:?} still runs after {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    writer.join().unwrap();
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// Bytes a process printed, as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The level of the first frame whose function is `name`.
pub fn level_of(module: &Path, dump: &Path, name: &str) -> usize {
    let bytes = std::fs::read(dump).unwrap();
    let session = wasmgdb::Session::load(module, &bytes, &wasmgdb::LoadOptions::default()).unwrap();
    session
        .frames()
        .iter()
        .position(|f| f.symbol.function.name == name)
        .unwrap_or_else(|| panic!("no frame of {name}"))
}

/// insta filters that take out what depends on the toolchain build: rustc's commit, build ids,
/// Rust symbol hashes. File names show as the DWARF records them (relative to the compilation
/// directory, as gdb shows them), so no machine path is left to take out.
pub fn filters() -> Vec<(String, String)> {
    vec![
        (r"/rustc/[0-9a-f]{40}".into(), "/rustc/[COMMIT]".into()),
        (
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}".into(),
            "[BUILD_ID]".into(),
        ),
        (r"17h[0-9a-f]{16}E".into(), "17h[HASH]E".into()),
        (r"Cs[0-9A-Za-z]{8,}_".into(), "Cs[HASH]_".into()),
    ]
}

/// Asserts a snapshot with [`filters`] applied.
#[macro_export]
macro_rules! snapshot {
    ($name:expr, $value:expr) => {{
        let filters = $crate::common::filters();
        let filters: Vec<(&str, &str)> =
            filters.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        insta::with_settings!({ filters => filters, prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!($name, $value);
        });
    }};
}
