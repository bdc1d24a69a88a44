//! Regenerates the committed Wasmtime dumps and checks that the fresh ones
//! record the same crash. `BLESS=1` overwrites the committed files instead.

use std::path::{Path, PathBuf};
use std::process::Command;

use coredump::CoreDump;
use wasm_coredump_tests::{Fixture, Profile, WASMTIME_DUMPS, fixture, wasmtime_dump};

fn generate(fixture_kind: Fixture, out: &Path) {
    let module = fixture(fixture_kind, Profile::Debug);
    let status = Command::new(env!("CARGO_BIN_EXE_wasmtime-dumps"))
        .arg(&module)
        .arg(out)
        .status()
        .expect("run wasmtime-dumps");
    assert!(
        status.success(),
        "wasmtime-dumps failed on {}",
        module.display()
    );
}

/// (function index, code offset) of every frame, youngest first.
fn frames(dump: &CoreDump<'_>) -> Vec<(u32, u32)> {
    dump.threads()[0]
        .frames
        .iter()
        .map(|f| (f.func, f.code_offset))
        .collect()
}

#[test]
fn committed_dumps_match_a_fresh_run() {
    let bless = std::env::var_os("BLESS").is_some();
    let scratch = tempdir();
    for &kind in WASMTIME_DUMPS {
        let committed: PathBuf = wasmtime_dump(kind);
        let out = if bless {
            committed.clone()
        } else {
            scratch.join(committed.file_name().unwrap())
        };
        generate(kind, &out);
        if bless {
            continue;
        }
        let fresh_bytes = std::fs::read(&out).unwrap();
        let committed_bytes = std::fs::read(&committed).unwrap();
        let fresh = CoreDump::parse(&fresh_bytes).unwrap();
        let old = CoreDump::parse(&committed_bytes).unwrap();
        assert_eq!(
            frames(&fresh),
            frames(&old),
            "{kind}: frames differ; BLESS=1 regenerates"
        );
        assert_eq!(fresh.globals(), old.globals(), "{kind}: globals differ");
        assert_eq!(
            std::fs::read_to_string(out.with_extension("stdout")).unwrap(),
            std::fs::read_to_string(committed.with_extension("stdout")).unwrap(),
            "{kind}: stdout differs"
        );
    }
    std::fs::remove_dir_all(scratch).ok();
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wasmtime-dumps-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
