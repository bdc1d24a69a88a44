//! Helpers shared by the library and CLI tests: building modules with `wat` plus hand-added
//! custom sections, reading sections back with wasmparser (independently of the crate), and
//! running the binary in a temporary directory.

#![allow(dead_code)]

use std::fs;
use std::ops::Range;
use std::path::Path;
use std::process::{Command, Output};

use wasm_encoder::{CustomSection, Section};
use wasmparser::{Parser, Payload, Validator, WasmFeatures};

/// A small module with functions, a memory, a data segment and a start-free export.
pub const WAT: &str = r#"
(module
  (memory (export "memory") 1)
  (global $g (mut i32) (i32.const 7))
  (func $add (export "add") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    i32.add)
  (func $crash (export "crash")
    global.get $g
    i32.const 1
    i32.add
    global.set $g
    unreachable)
  (data (i32.const 16) "hello"))
"#;

pub fn base_module() -> Vec<u8> {
    wat::parse_str(WAT).expect("valid wat")
}

/// Encodes a custom section.
pub fn custom(name: &str, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    CustomSection {
        name: name.into(),
        data: data.into(),
    }
    .append_to(&mut out);
    out
}

/// Bytes that look like DWARF of the given size (content does not matter to the splitter).
pub fn fake_dwarf(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// The base module with `.debug_info`, `.debug_line`, `.debug_str` and `name` sections after
/// Code (as rustc/lld lay them out), plus `producers`.
pub fn module_with_dwarf() -> Vec<u8> {
    let mut m = wat::parse_str(WAT.replace("(module", "(module $m")).unwrap();
    // wat already wrote a `name` section (module and function names); add DWARF after it.
    m.extend(custom(".debug_info", &fake_dwarf(1, 300)));
    m.extend(custom(".debug_line", &fake_dwarf(2, 200)));
    m.extend(custom("producers", b"\x00"));
    m.extend(custom(".debug_str", &fake_dwarf(3, 1000)));
    m
}

/// Inserts `section` (a whole encoded section) just before the Code section.
pub fn insert_before_code(module: &[u8], section: &[u8]) -> Vec<u8> {
    let code = sections(module)
        .into_iter()
        .find(|s| s.name.is_none() && s.id == 10)
        .expect("module has code");
    let mut out = module[..code.range.start].to_vec();
    out.extend_from_slice(section);
    out.extend_from_slice(&module[code.range.start..]);
    out
}

/// A top-level section as wasmparser sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sec {
    pub id: u8,
    pub name: Option<String>,
    /// Whole section, header included.
    pub range: Range<usize>,
    /// Content after the size LEB.
    pub content: Range<usize>,
    /// A custom section's data after the name; the content otherwise.
    pub data: Range<usize>,
}

/// Lists the top-level sections of `module`, panicking on malformed input.
pub fn sections(module: &[u8]) -> Vec<Sec> {
    let mut out = Vec::new();
    let mut start = 8;
    for payload in Parser::new(0).parse_all(module) {
        let payload = payload.expect("well-formed module");
        let sec = match &payload {
            Payload::CustomSection(r) => {
                let content = r.range().start as usize..r.range().end as usize;
                Some(Sec {
                    id: 0,
                    name: Some(r.name().to_owned()),
                    range: start..content.end,
                    data: r.data_offset() as usize..content.end,
                    content,
                })
            }
            Payload::CodeSectionStart {
                unchecked_range, ..
            } => {
                let content = unchecked_range.start as usize..unchecked_range.end as usize;
                Some(Sec {
                    id: 10,
                    name: None,
                    range: start..content.end,
                    data: content.clone(),
                    content,
                })
            }
            Payload::CodeSectionEntry(_) => None,
            other => other.as_section().map(|(id, r)| {
                let content = r.start as usize..r.end as usize;
                Sec {
                    id,
                    name: None,
                    range: start..content.end,
                    data: content.clone(),
                    content,
                }
            }),
        };
        if let Some(sec) = sec {
            start = sec.range.end;
            out.push(sec);
        }
    }
    out
}

/// The custom sections named `name`, as data slices.
pub fn custom_data<'a>(module: &'a [u8], name: &str) -> Vec<&'a [u8]> {
    sections(module)
        .into_iter()
        .filter(|s| s.name.as_deref() == Some(name))
        .map(|s| &module[s.data])
        .collect()
}

/// The id bytes of a `build_id` payload, by BuildId.md's rule written out here (ids shorter than
/// 128 bytes: a one-byte length, then the id), or the whole payload when its first byte is no
/// such length (the raw ids of the older tools).
pub fn build_id_bytes(payload: &[u8]) -> &[u8] {
    match payload.split_first() {
        Some((&len, id)) if len < 0x80 && usize::from(len) == id.len() => id,
        _ => payload,
    }
}

/// The Code section's content range.
pub fn code_range(module: &[u8]) -> Range<usize> {
    sections(module)
        .into_iter()
        .find(|s| s.name.is_none() && s.id == 10)
        .expect("module has code")
        .content
}

/// Fully validates `module` with every feature on.
pub fn validate(module: &[u8]) {
    Validator::new_with_features(WasmFeatures::all())
        .validate_all(module)
        .expect("output validates");
}

/// Whether any custom section of `module` is DWARF.
pub fn has_dwarf(module: &[u8]) -> bool {
    sections(module)
        .iter()
        .any(|s| s.name.as_deref().is_some_and(|n| n.starts_with(".debug_")))
}

/// The `debuginfo-split` binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_debuginfo-split");

/// Runs the binary in `dir` with `args`.
pub fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run debuginfo-split")
}

/// The run's stdout, as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The run's stderr, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// A temporary directory holding `m.wasm` = `module`.
pub fn dir_with(module: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("m.wasm"), module).unwrap();
    dir
}

/// The directory's file names, sorted.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Checks a failed run: exit 1, nothing on stdout, and on stderr one `error:` line naming
/// `name` (and at most a `hint:` line) that locates nothing at offset 0 (the magic number is
/// there, but nothing else is).
pub fn assert_error(out: &Output, name: &str) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(stdout(out), "");
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines[0].starts_with("error: "), "{err}");
    assert!(lines[0].contains(name), "{err}");
    assert!(
        lines.len() == 1 || (lines.len() == 2 && lines[1].starts_with("hint: ")),
        "one line: {err}"
    );
    assert!(!err.contains("(at offset 0x0)"), "{err}");
    assert!(!err.contains("at offset 0x0:"), "{err}");
    err
}
