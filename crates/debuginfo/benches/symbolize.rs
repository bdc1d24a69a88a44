//! `cargo bench -p debuginfo`: loading the debug info of the serde-regex debug fixture (~16 MB,
//! ~13 MB of DWARF) and symbolizing a backtrace of it, with time and peak RSS.
//!
//! The backtrace is the one the fixture's panic unwinds through (`_start` ... `parse_config` ...
//! `abort`): for each function on it, the code offset of its last call. The target for the
//! debugger is `bt` in at most 0.1 s and 80 MB. For comparison the bench then symbolizes one
//! address in every function, which parses every unit.

use std::time::{Duration, Instant};

use debuginfo::{DebugInfo, Module};
use wasm_coredump_tests::{Fixture, Profile, fixture, function_names};
use wasmparser::{Operator, Parser, Payload};

/// The functions of the fixture's panic stack, youngest first.
const STACK: &[&str] = &[
    "abort",
    "std::sys::pal::wasi::helpers::abort_internal",
    "std::process::abort",
    "__rustc::__rust_abort",
    "__rustc::__rust_start_panic",
    "__rustc::rust_panic",
    "std::panicking::panic_with_hook",
    "std::panicking::panic_handler::{closure#0}",
    "std::sys::backtrace::__rust_end_short_backtrace",
    "__rustc::rust_begin_unwind",
    "core::panicking::panic_fmt",
    "core::result::unwrap_failed",
    "core::result::Result<T,E>::unwrap",
    "serde_regex::parse_config",
    "serde_regex::main",
    "core::ops::function::FnOnce::call_once",
    "std::sys::backtrace::__rust_begin_short_backtrace",
    "std::rt::lang_start::{{closure}}",
    "std::rt::lang_start_internal",
    "std::rt::lang_start",
    "__main_void",
    "_start",
];

/// (function index, offset of its last call) for every defined function.
fn last_calls(module: &[u8]) -> Vec<(u32, u32)> {
    let mut imported = 0;
    let mut out = Vec::new();
    for payload in Parser::new(0).parse_all(module) {
        match payload.unwrap() {
            Payload::ImportSection(r) => imported = r.into_imports().count() as u32,
            Payload::CodeSectionEntry(body) => {
                let func = imported + out.len() as u32;
                let start = body.range().start;
                let mut ops = body.get_operators_reader().unwrap();
                let mut last = 0;
                while !ops.eof() {
                    let (op, offset) = ops.read_with_offset().unwrap();
                    if matches!(op, Operator::Call { .. } | Operator::CallIndirect { .. }) {
                        last = offset - start;
                    }
                }
                out.push((func, last as u32));
            }
            _ => {}
        }
    }
    out
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this too: stay quick then.
    let path = fixture(Fixture::SerdeRegex, Profile::Debug);
    let (stack, all) = {
        let bytes = std::fs::read(&path).unwrap();
        let names = function_names(&bytes);
        let calls = last_calls(&bytes);
        let stack: Vec<(u32, u32)> = STACK
            .iter()
            .filter_map(|want| {
                let mut matching: Vec<_> = names
                    .iter()
                    .filter(|(_, n)| n.as_str() == *want || n.starts_with(&format!("{want}<")))
                    .map(|(&f, _)| f)
                    .collect();
                matching.sort();
                let func = *matching.first()?;
                calls.iter().find(|c| c.0 == func).copied()
            })
            .collect();
        (stack, calls)
    };
    let rss_before = wasm_coredump_tests::proc_status_kib("VmRSS:");

    let start = Instant::now();
    let info = DebugInfo::new(Module::read(&path).unwrap()).unwrap();
    let load = start.elapsed();
    let start = Instant::now();
    let mut frames = 0;
    for &(func, off) in &stack {
        frames += info.frames(func, off).unwrap().len();
    }
    let bt = start.elapsed();
    let hwm_bt = wasm_coredump_tests::proc_status_kib("VmHWM:");
    let start = Instant::now();
    for &(func, off) in &stack {
        info.frames(func, off).unwrap();
    }
    let bt_again = start.elapsed();

    let start = Instant::now();
    let mut all_frames = 0;
    for &(func, off) in &all {
        all_frames += info.frames(func, off).unwrap().len();
    }
    let every = start.elapsed();
    let hwm_all = wasm_coredump_tests::proc_status_kib("VmHWM:");

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("serde-regex debug fixture: {}", path.display());
    println!("  load (read file + index units):      {:8.2} ms", ms(load));
    println!(
        "  bt: {} Wasm frames -> {frames} frames:    {:8.2} ms  (again, cached: {:.3} ms)",
        stack.len(),
        ms(bt),
        ms(bt_again)
    );
    println!(
        "  load + bt:                           {:8.2} ms   peak RSS {:.1} MB (bench harness before load: {:.1} MB)",
        ms(load + bt),
        hwm_bt as f64 / 1024.0,
        rss_before as f64 / 1024.0
    );
    println!(
        "  every function ({} -> {all_frames} frames): {:8.2} ms   peak RSS {:.1} MB",
        all.len(),
        ms(every),
        hwm_all as f64 / 1024.0
    );
}
