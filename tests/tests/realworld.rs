//! The rewriter on real programs built from source (`tests/fixtures/realworld`: SQLite and zstd
//! in C, serde_json, regex and png in Rust), run by V8 in Node:
//! - each rewritten module computes what the original computes;
//! - a crash beneath SQLite (a Rust SQL function that panics, called by SQLite's virtual
//!   machine) leaves a dump whose frames are V8's own stack of the same trap in the original
//!   module, frame for frame, and whose crash reason is what Rust printed.
//!
//! V8's stack (`Error.stack`, every frame) and Rust's panic output are the oracles; nothing
//! expected comes from the tools under test.

use std::path::{Path, PathBuf};
use std::process::Command;

use coredump::CoreDump;
use debuginfo::{DebugInfo, Module};
use rewriter::{Options, RecordLocals, Unwind};
use wasm_coredump_tests::{Profile, function_names, realworld};
use wasm_layout::{CodeLayout, ModuleLayout};

/// Runs `name=arg` calls in order, printing `result NAME VALUE` for each; on a trap it prints
/// `trap MESSAGE`, then `frame FUNC OFFSET` for each Wasm frame of V8's stack (youngest first;
/// the offset is the module file offset V8 shows as `wasm-function[FUNC]:0xOFFSET`), writes
/// `memory.buffer` to the core path and stops.
const HARNESS: &str = r#"
import { readFileSync, writeFileSync } from 'node:fs';
import { WASI } from 'node:wasi';
Error.stackTraceLimit = Infinity;
const [path, core, ...calls] = process.argv.slice(2);
const module = await WebAssembly.compile(readFileSync(path));
const wasi = new WASI({ version: 'preview1', returnOnExit: true });
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
wasi.initialize(instance);
for (const [name, arg] of calls.map((c) => c.split('='))) {
  try {
    console.log(`result ${name} ${instance.exports[name](Number(arg))}`);
  } catch (e) {
    if (!(e instanceof WebAssembly.RuntimeError)) throw e;
    console.log(`trap ${e.message}`);
    for (const m of e.stack.matchAll(/wasm-function\[(\d+)\]:0x([0-9a-f]+)/g)) {
      console.log(`frame ${m[1]} ${parseInt(m[2], 16)}`);
    }
    writeFileSync(core, new Uint8Array(instance.exports.memory.buffer));
    break;
  }
}
"#;

/// The workloads of the benchmark, at sizes that take Node a few milliseconds each.
const WORKLOADS: [(&str, u32); 5] = [
    ("sqlite", 300),
    ("compress", 2_000),
    ("json", 300),
    ("regex", 2_000),
    ("png", 64),
];

/// What one run of [`HARNESS`] printed.
#[derive(Debug, Default)]
struct Run {
    /// `NAME VALUE` for each call that returned.
    results: Vec<String>,
    /// The trap's message, if one trapped.
    trap: Option<String>,
    /// V8's Wasm frames of the trap: function index and module file offset, youngest first.
    frames: Vec<(u32, u64)>,
    /// What the program printed on stderr (Rust's panic output).
    stderr: String,
    /// `memory.buffer` at the trap.
    core: Option<Vec<u8>>,
}

impl Run {
    /// The message Rust's panic handler printed (the line after `panicked at LOCATION:`), and
    /// the location.
    fn panic(&self) -> Option<(&str, &str)> {
        let mut lines = self.stderr.lines();
        let at = lines.find_map(|l| l.split_once(" panicked at "))?.1;
        Some((lines.next()?, at.strip_suffix(':')?))
    }
}

/// The scratch directory of the test `name`, with the harness in it (each test its own: the
/// tests run at the same time).
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("realworld")
        .join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("harness.mjs"), HARNESS).unwrap();
    dir
}

/// Runs `calls` on the module at `module` under Node, with the harness of the scratch
/// directory `dir`, where the memory at a trap goes.
fn run(dir: &Path, module: &Path, calls: &[(&str, u32)]) -> Run {
    let harness = dir.join("harness.mjs");
    let stem = module.file_stem().unwrap().to_string_lossy();
    let core = dir.join(format!("{stem}.core"));
    std::fs::remove_file(&core).ok();
    let output = Command::new(std::env::var("NODE").unwrap_or_else(|_| "node".into()))
        .arg("--no-warnings")
        .arg(&harness)
        .arg(module)
        .arg(&core)
        .args(calls.iter().map(|(name, arg)| format!("{name}={arg}")))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "node: {stderr}");
    let mut run = Run {
        stderr,
        core: std::fs::read(&core).ok(),
        ..Run::default()
    };
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let (kind, rest) = line.split_once(' ').unwrap();
        match kind {
            "result" => run.results.push(rest.to_owned()),
            "trap" => run.trap = Some(rest.to_owned()),
            "frame" => {
                let (func, offset) = rest.split_once(' ').unwrap();
                run.frames
                    .push((func.parse().unwrap(), offset.parse().unwrap()));
            }
            _ => panic!("harness printed {line:?}"),
        }
    }
    run
}

/// The rewriter's option sets checked: the default, the other unwinding, every local recorded,
/// and every opt-in check.
fn variants() -> Vec<(&'static str, Options)> {
    vec![
        ("default", Options::default()),
        (
            "--unwind exceptions",
            Options {
                unwind: Unwind::Exceptions,
                ..Options::default()
            },
        ),
        (
            "--record-locals all",
            Options {
                record_locals: RecordLocals::All,
                ..Options::default()
            },
        ),
        (
            "--check-memory --check-indirect-calls --max-call-depth 100000",
            Options {
                check_memory: true,
                check_indirect_calls: true,
                max_call_depth: Some(100_000),
                ..Options::default()
            },
        ),
    ]
}

/// Writes the rewrite of `input` with `options` to the scratch directory `dir`.
fn rewritten(dir: &Path, input: &[u8], profile: Profile, k: usize, options: &Options) -> PathBuf {
    let out = rewriter::rewrite(input, options).unwrap();
    let path = dir.join(format!("realworld-{profile}-{k}.wasm"));
    std::fs::write(&path, &out.module).unwrap();
    path
}

#[test]
fn rewritten_real_programs_compute_what_the_originals_compute() {
    let dir = scratch("results");
    let path = realworld(Profile::Release);
    let input = std::fs::read(&path).unwrap();
    let original = run(&dir, &path, &WORKLOADS);
    assert_eq!(original.trap, None, "{}", original.stderr);
    assert_eq!(original.results.len(), WORKLOADS.len());
    for (k, (what, options)) in variants().iter().enumerate() {
        let module = rewritten(&dir, &input, Profile::Release, k, options);
        let run = run(&dir, &module, &WORKLOADS);
        assert_eq!(run.trap, None, "{what}: {}", run.stderr);
        assert_eq!(run.results, original.results, "{what}");
    }
}

/// The module file offset of each frame of `dump` in the original module: its function's body
/// start there plus the frame's code offset before the rewrite (as V8 shows a frame).
fn original_frames(dump: &CoreDump<'_>, input: &[u8]) -> Vec<(u32, u64)> {
    let layout = ModuleLayout::parse(input).unwrap();
    let code = CodeLayout::read(input, &layout).unwrap().unwrap();
    let offsets = dump
        .original_code_offsets()
        .expect("the pre-rewrite offsets");
    let frames = &dump.threads()[0].frames;
    assert_eq!(offsets.len(), frames.len());
    (frames.iter().zip(offsets))
        .map(|(frame, offset)| {
            let body = code.body_range(frame.func).unwrap();
            (frame.func, body.start + u64::from(offset))
        })
        .collect()
}

/// The crash beneath SQLite, in each profile and with each option set: the rewritten module
/// raises the trap the original raised, and its dump's frames are V8's frames of the original's
/// trap, each at the same function and offset: Rust's panic machinery, the SQL function, SQLite's
/// C (`sqlite3VdbeExec`, `sqlite3_step`), rusqlite, the export.
#[test]
fn a_crash_beneath_sqlite_is_v8s_own_stack_frame_for_frame() {
    let dir = scratch("crash");
    for profile in Profile::ALL {
        let path = realworld(profile);
        let input = std::fs::read(&path).unwrap();
        let info = DebugInfo::new(Module::parse(input.clone()).unwrap()).unwrap();
        let crash = [("sqlite", 50), ("sqlite_crash", 10)];
        let original = run(&dir, &path, &crash);
        assert_eq!(original.trap.as_deref(), Some("unreachable"), "{profile}");
        let (message, location) = original.panic().expect("Rust printed the panic");
        assert_eq!(
            message, "index out of bounds: the len is 4 but the index is 4",
            "{profile}"
        );
        assert!(
            original.frames.len() > 10,
            "{profile}: {:?}",
            original.frames
        );
        let names = function_names(&input);
        let names: Vec<&str> = (original.frames.iter())
            .filter_map(|(func, _)| names.get(func).map(String::as_str))
            .collect();
        for c_function in ["sqlite3VdbeExec", "sqlite3_step"] {
            assert!(
                names.contains(&c_function),
                "{profile}: V8's stack has no {c_function}: {names:?}"
            );
        }
        let options = match profile {
            Profile::Release => variants(),
            Profile::Debug => variants().into_iter().take(1).collect(),
        };
        for (k, (what, options)) in options.iter().enumerate() {
            let run = run(&dir, &rewritten(&dir, &input, profile, k, options), &crash);
            let what = format!("{profile} {what}");
            assert_eq!(run.results, original.results, "{what}");
            assert_eq!(run.trap, original.trap, "{what}");
            assert_eq!(run.panic(), original.panic(), "{what}");
            let core = run.core.as_deref().expect("memory at the trap");
            let dump = CoreDump::parse(core).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(original_frames(&dump, &input), original.frames, "{what}");
            let reason = info.crash_reason(&dump);
            let panic = reason.panic.expect("the panic");
            assert_eq!(panic.message.unwrap().text, message, "{what}");
            assert_eq!(panic.location.unwrap().to_string(), location, "{what}");
        }
    }
}
