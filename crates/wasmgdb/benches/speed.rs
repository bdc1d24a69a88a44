//! `cargo bench -p wasmgdb`: wasmgdb on the serde-regex debug fixture (~16 MB module, ~13 MB of
//! DWARF), with a real dump (rewritten by wasm-coredump-rewriter, run under Node).
//!
//! Targets: `wasmgdb --batch -ex bt` at most 0.1 s wall and 80 MB peak RSS; `info locals` and
//! `print` of a struct in a deep frame at most 0.15 s.
//!
//! Each measurement runs in a fresh process (this bench re-executes itself with `--measure`), so
//! the peak RSS is that of loading the module and the dump and running the commands only. The
//! wall time of the real binary (`wasmgdb --batch -ex bt`) is measured too.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use wasm_coredump_tests::{Fixture, NodeCommand, Profile, fixture};

/// In a fresh process: load, run the commands, print `seconds peak_kib`.
fn measure(module: &Path, dump: &Path, commands: &[String]) {
    let start = Instant::now();
    let bytes = std::fs::read(dump).unwrap();
    let mut session = wasmgdb::Session::load(module, &bytes, &Default::default()).unwrap();
    let mut printed = 0;
    for cmd in commands {
        match session.run_line(cmd) {
            Ok(wasmgdb::Outcome::Reply(r)) => printed += r.text.len(),
            Ok(wasmgdb::Outcome::Quit) => break,
            Err(e) => panic!("{cmd}: {e}"),
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "{elapsed} {} {printed}",
        wasm_coredump_tests::proc_status_kib("VmHWM:")
    );
}

fn dump() -> (PathBuf, PathBuf) {
    let original = fixture(Fixture::SerdeRegex, Profile::Debug);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wasmgdb-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let rewritten = dir.join("serde-regex.rewritten.wasm");
    let input = std::fs::read(&original).unwrap();
    let out = rewriter::rewrite(&input, &rewriter::Options::default()).unwrap();
    std::fs::write(&rewritten, &out.module).unwrap();
    let run = NodeCommand::new(&rewritten).run();
    let core = run
        .core
        .unwrap_or_else(|| panic!("no dump: {}", run.stderr));
    let path = dir.join("serde-regex.coredump");
    std::fs::write(&path, core).unwrap();
    (original, path)
}

fn child(module: &Path, dump: &Path, commands: &[&str]) -> (f64, u64) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.arg("--measure").arg(module).arg(dump).args(commands);
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut parts = stdout.split_whitespace();
    let secs = parts
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            panic!("{}", String::from_utf8_lossy(&out.stderr));
        });
    let kib = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    (secs, kib)
}

fn best_of(n: usize, mut f: impl FnMut() -> (f64, u64)) -> (f64, u64) {
    (0..n)
        .map(|_| f())
        .fold((f64::MAX, 0), |(t, m), (t2, m2)| (t.min(t2), m.max(m2)))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--measure") {
        measure(Path::new(&args[2]), Path::new(&args[3]), &args[4..]);
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test` runs benches in test mode: do nothing then.
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let (module, dump) = dump();
    println!(
        "serde-regex debug: module {} MB, dump {} MB",
        std::fs::metadata(&module).unwrap().len() / 1_000_000,
        std::fs::metadata(&dump).unwrap().len() / 1_000_000
    );
    let (t, kib) = best_of(5, || child(&module, &dump, &["bt"]));
    println!(
        "bt (in-process, load included): {:.3} s, peak RSS {} MB  (target 0.1 s, 80 MB)",
        t,
        kib / 1024
    );

    let bytes = std::fs::read(&dump).unwrap();
    let session = wasmgdb::Session::load(&module, &bytes, &Default::default()).unwrap();
    let level = session
        .frames()
        .iter()
        .position(|f| (f.symbol.function.symbol_name()).starts_with("core::result::Result<"))
        .expect("the unwrap frame");
    drop(session);
    let frame = format!("frame {level}");
    let (t, kib) = best_of(5, || {
        child(&module, &dump, &[&frame, "info locals", "print self"])
    });
    println!(
        "frame {level} + info locals + print self (a Result<Config, Error>), load included: {:.3} s, peak RSS {} MB  (target 0.15 s)",
        t,
        kib / 1024
    );

    let mut best = Duration::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_wasmgdb"))
            .args(["--batch", "-q", "-ex", "bt"])
            .arg(&module)
            .arg(&dump)
            .output()
            .unwrap();
        assert!(out.status.success());
        best = best.min(start.elapsed());
    }
    println!(
        "wasmgdb --batch -ex bt (the binary, wall): {:.3} s",
        best.as_secs_f64()
    );
}
