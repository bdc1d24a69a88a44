//! A real Rust program compiled to wasm32-wasip1 in debug (DWARF from rustc and lld), split by
//! the library and by the binary. Skipped, saying so, when the wasm32-wasip1 target is missing.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use debuginfo_split::{BuildIdSource, SplitOptions, split};

const MAIN_RS: &str = r#"
use std::collections::HashMap;

#[inline(never)]
fn lookup(map: &HashMap<String, u32>, key: &str) -> u32 {
    *map.get(key).expect("key present")
}

fn main() {
    let mut map = HashMap::new();
    for (i, word) in std::env::args().enumerate() {
        map.insert(word, i as u32);
    }
    println!("{}", lookup(&map, "missing"));
}
"#;

/// Builds the fixture with extra linker `flags`; `None` when the target is not installed.
fn build(name: &str, link_args: &[&str]) -> Option<Vec<u8>> {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .ok()?;
    let sysroot = PathBuf::from(String::from_utf8(sysroot.stdout).ok()?.trim());
    if !sysroot.join("lib/rustlib/wasm32-wasip1").exists() {
        eprintln!("skipped: the wasm32-wasip1 target is not installed");
        return None;
    }
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("real-module");
    let krate = root.join(name);
    std::fs::create_dir_all(krate.join("src")).unwrap();
    std::fs::write(
        krate.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [workspace]\n"
        ),
    )
    .unwrap();
    std::fs::write(krate.join("src/main.rs"), MAIN_RS).unwrap();
    let rustflags: Vec<String> = link_args
        .iter()
        .map(|a| format!("-Clink-arg={a}"))
        .collect();
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--offline", "--target", "wasm32-wasip1"])
        .current_dir(&krate)
        .env("CARGO_TARGET_DIR", root.join("target"))
        .env("CARGO_ENCODED_RUSTFLAGS", rustflags.join("\x1f"))
        .env_remove("RUSTFLAGS")
        .status()
        .expect("run cargo");
    assert!(status.success(), "cargo build of the fixture failed");
    let wasm = root.join(format!("target/wasm32-wasip1/debug/{name}.wasm"));
    Some(std::fs::read(wasm).unwrap())
}

fn check(input: &[u8], expect_existing: bool) {
    assert!(has_dwarf(input), "a debug build has DWARF");
    let out = split(input, &SplitOptions::default()).unwrap();
    assert_eq!(
        out.build_id_source() == BuildIdSource::Existing,
        expect_existing
    );
    let stripped = out.stripped().to_vec();
    let debug = out.debug().to_vec();
    validate(input);
    validate(&stripped);
    validate(&debug);
    let code = code_range(input);
    assert_eq!(code_range(&stripped), code);
    assert_eq!(code_range(&debug), code);
    assert_eq!(stripped[code.clone()], input[code.clone()]);
    assert_eq!(debug[..input.len()], input[..]);
    assert!(!has_dwarf(&stripped));
    assert_eq!(custom_data(&stripped, "name"), custom_data(input, "name"));
    for sec in sections(input) {
        if let Some(name) = sec.name.as_deref().filter(|n| n.starts_with(".debug_")) {
            assert_eq!(custom_data(&debug, name), [&input[sec.data.clone()]]);
        }
    }
    // Most of a debug build is DWARF.
    assert!(
        stripped.len() * 2 < input.len(),
        "{} {}",
        stripped.len(),
        input.len()
    );
}

#[test]
fn rust_debug_build() {
    let Some(input) = build("fixture_plain", &[]) else {
        return;
    };
    assert!(custom_data(&input, "build_id").is_empty());
    check(&input, false);

    // And through the binary, in place.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.wasm"), &input).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_debuginfo-split"))
        .args(["app.wasm", "--deterministic", "--json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stripped = std::fs::read(dir.path().join("app.wasm")).unwrap();
    let debug = std::fs::read(dir.path().join(v["debug_file"].as_str().unwrap())).unwrap();
    validate(&stripped);
    validate(&debug);
    assert_eq!(code_range(&stripped), code_range(&input));
    assert_eq!(debug[..input.len()], input[..]);
}

/// lld `--build-id` writes its own `build_id` section (BuildId.md: the length 16, then a 16-byte
/// hash): kept, and its id is the bytes after the length.
#[test]
fn rust_debug_build_with_lld_build_id() {
    let Some(input) = build("fixture_build_id", &["--build-id"]) else {
        return;
    };
    let ids = custom_data(&input, "build_id");
    assert_eq!(ids.len(), 1, "lld wrote a build_id");
    let payload = ids[0].to_vec();
    assert_eq!(payload.len(), 17);
    assert_eq!(payload[0], 16, "the id's length comes first");
    check(&input, true);
    let out = split(&input, &SplitOptions::default()).unwrap();
    assert_eq!(out.build_id().as_bytes(), &payload[1..]);
    assert_eq!(out.debug().to_vec(), input);
}
