//! Runs every fixture, in both profiles, under the Node host runner (`host/run-wasi.mjs`) and
//! checks what really happens: the exit status, the trap, what Rust printed, the marker line, and
//! that the saved memory is the module's linear memory (the marker string at its printed address).
//!
//! Expected facts (messages, locations, values) come from the fixture sources in
//! `tests/fixtures`, never from the output of the tools under test.

use std::path::PathBuf;

use wasm_coredump_tests::{
    Fixture, NodeCommand, NodeRun, Profile, TRAP_STATUS, USAGE_STATUS, WASM_PAGE_SIZE, fixture,
    run_node,
};

/// One `#[test]` per profile: `name::debug` and `name::release`.
macro_rules! both_profiles {
    ($($name:ident => $body:path;)*) => {$(
        mod $name {
            use super::*;

            #[test]
            fn debug() {
                $body(Profile::Debug);
            }

            #[test]
            fn release() {
                $body(Profile::Release);
            }
        }
    )*};
}

both_profiles! {
    mything => mything_overflows;
    unwrap_none => unwrap_none_panics;
    unwrap_none_some => unwrap_none_some_exits_normally;
    index_oob => index_oob_panics;
    div_zero_panic_check => div_zero_panics;
    div_zero_wasm_trap => div_zero_wrapping_traps_in_wasm;
    abort => abort_traps_silently;
    abort_unreachable => abort_unreachable_panics;
    abort_exit => abort_exit_returns_the_status;
    deep_recursion => deep_recursion_panics_at_the_bottom;
    cdylib_process_ok => cdylib_process_returns;
    cdylib_process_panics => cdylib_process_traps;
    cdylib_needs_invoke => cdylib_without_invoke_is_a_usage_error;
    serde_regex => serde_regex_unwrap_err_panics;
    serde_regex_index => serde_regex_panics_inside_serde_json;
    invoke_stubs_imports => invoke_on_a_wasi_module_stubs_its_imports;
    no_core_unless_asked => no_core_file_without_core_option;
}

fn run(f: Fixture, profile: Profile, args: &[&str]) -> NodeRun {
    run_node(&fixture(f, profile), args, None)
}

/// The module trapped with `message`, and the runner saved the memory.
fn assert_trap(run: &NodeRun, message: &str) {
    assert_eq!(run.status, Some(TRAP_STATUS), "{run:#?}");
    assert_eq!(run.trap.as_deref(), Some(message), "{run:#?}");
    let core = run
        .core
        .as_deref()
        .unwrap_or_else(|| panic!("no core: {run:#?}"));
    assert!(!core.is_empty(), "{run:#?}");
    assert_eq!(
        core.len() % WASM_PAGE_SIZE,
        0,
        "memory is whole pages: {run:#?}"
    );
    assert!(
        run.stderr.contains(&format!(" ({} bytes)", core.len())),
        "the runner reports the size it wrote: {run:#?}"
    );
    assert!(
        run.stderr
            .lines()
            .any(|l| l.starts_with("core written to ")),
        "{run:#?}"
    );
}

/// Rust's panic handler printed `message` at `location`.
fn assert_panic(run: &NodeRun, location: &str, message: &str) {
    assert_eq!(run.panic_location(), Some(location), "{run:#?}");
    assert_eq!(run.panic_message(), Some(message), "{run:#?}");
}

/// No panic message: the module trapped or exited without Rust's panic handler.
fn assert_no_panic(run: &NodeRun) {
    assert!(!run.stderr.contains("panicked"), "{run:#?}");
}

/// The first stdout line is the fixture's marker, and the saved memory holds the marker string at
/// the printed address.
fn assert_marker(run: &NodeRun, f: Fixture) {
    let expected = f.marker().expect("fixture has a marker");
    let first = run.stdout.lines().next().unwrap_or_default();
    assert!(first.starts_with("marker 0x"), "{run:#?}");
    let marker = run
        .marker()
        .unwrap_or_else(|| panic!("no marker: {run:#?}"));
    assert_eq!(marker.text, expected);
    assert_ne!(marker.address, 0);
    if let Some(core) = &run.core {
        assert!(
            marker.is_at(core),
            "{expected:?} is not at {:#x} in the {}-byte memory",
            marker.address,
            core.len()
        );
    }
}

fn mything_overflows(profile: Profile) {
    // calculate (line 16) computes 3 - 10 on a usize; release has overflow checks on for
    // this package, so both profiles panic.
    let f = Fixture::MyThing;
    let run = run(f, profile, &[]);
    assert_trap(&run, "unreachable");
    assert_eq!(
        f.source_location("value - 10", "value"),
        "mything/src/main.rs:16:5"
    );
    assert_panic(
        &run,
        &f.source_location("value - 10", "value"),
        "attempt to subtract with overflow",
    );
    assert_eq!(
        run.stdout, "",
        "no marker, and the println is never reached"
    );
    assert!(run.marker().is_none());
}

fn unwrap_none_panics(profile: Profile) {
    let f = Fixture::UnwrapNone;
    let run = run(f, profile, &[]);
    assert_trap(&run, "unreachable");
    assert_panic(
        &run,
        &f.source_location("user.unwrap()", "unwrap"),
        "called `Option::unwrap()` on a `None` value",
    );
    assert_marker(&run, f);
    assert!(!run.stdout.contains("found:"), "{run:#?}");
}

fn unwrap_none_some_exits_normally(profile: Profile) {
    let f = Fixture::UnwrapNone;
    let run = run(f, profile, &["some"]);
    assert_eq!(run.status, Some(0), "{run:#?}");
    assert!(!run.trapped());
    assert_eq!(run.core, None, "no trap, no core: {run:#?}");
    assert_no_panic(&run);
    assert_marker(&run, f);
    assert!(run.stdout.lines().any(|l| l == "found: alice"), "{run:#?}");
}

fn index_oob_panics(profile: Profile) {
    let f = Fixture::IndexOob;
    let run = run(f, profile, &[]);
    assert_trap(&run, "unreachable");
    assert_panic(
        &run,
        &f.source_location("items[index]", "items"),
        "index out of bounds: the len is 3 but the index is 7",
    );
    assert_marker(&run, f);
}

fn div_zero_panics(profile: Profile) {
    // Plain `/`: Rust's zero check panics before any Wasm division.
    let f = Fixture::DivZero;
    let run = run(f, profile, &[]);
    assert_trap(&run, "unreachable");
    assert_panic(
        &run,
        &f.source_location("dividend / divisor", "dividend"),
        "attempt to divide by zero",
    );
    assert_marker(&run, f);
}

fn div_zero_wrapping_traps_in_wasm(profile: Profile) {
    // The division reaches `i32.div_u` with 0: Wasm's own trap, and Rust prints nothing.
    let f = Fixture::DivZero;
    let run = run(f, profile, &["wrapping"]);
    assert_trap(&run, "divide by zero");
    assert_no_panic(&run);
    assert_marker(&run, f);
    assert!(!run.stdout.contains("quotient"), "{run:#?}");
}

fn abort_traps_silently(profile: Profile) {
    let f = Fixture::Abort;
    let run = run(f, profile, &[]);
    assert_trap(&run, "unreachable");
    assert_no_panic(&run);
    assert_marker(&run, f);
}

fn abort_unreachable_panics(profile: Profile) {
    let f = Fixture::Abort;
    let run = run(f, profile, &["unreachable"]);
    assert_trap(&run, "unreachable");
    assert_panic(
        &run,
        &f.source_location("unreachable!()", "unreachable"),
        "internal error: entered unreachable code",
    );
    assert_marker(&run, f);
}

fn abort_exit_returns_the_status(profile: Profile) {
    // std::process::exit(7) is WASI proc_exit(7): the runner exits with 7, no trap, no core.
    let f = Fixture::Abort;
    let run = run(f, profile, &["exit"]);
    assert_eq!(run.status, Some(7), "{run:#?}");
    assert!(!run.trapped(), "{run:#?}");
    assert_eq!(run.core, None);
    assert_marker(&run, f);
}

fn deep_recursion_panics_at_the_bottom(profile: Profile) {
    let f = Fixture::DeepRecursion;
    let run = run(f, profile, &[]);
    assert_trap(&run, "unreachable");
    assert_panic(
        &run,
        &f.source_location("panic!(\"deep-recursion", "panic!"),
        "deep-recursion: reached the bottom after 150 frames",
    );
    assert_marker(&run, f);
}

fn cdylib(profile: Profile) -> PathBuf {
    fixture(Fixture::CdylibPanic, profile)
}

fn cdylib_process_returns(profile: Profile) {
    // process(2) = [5, 6, 7, 8][2] * 2
    let run = run_node(&cdylib(profile), &["2"], Some("process"));
    assert_eq!(run.status, Some(0), "{run:#?}");
    assert_eq!(run.result(), Some(14), "{run:#?}");
    assert!(!run.trapped());
    assert_eq!(run.core, None);
}

fn cdylib_process_traps(profile: Profile) {
    let f = Fixture::CdylibPanic;
    let expected = f.marker().unwrap();
    // The module cannot print its marker: ask its exports (a fresh instance has the same
    // static data at the same address).
    let address = run_node(&cdylib(profile), &[], Some("marker"));
    let len = run_node(&cdylib(profile), &[], Some("marker_len"));
    assert_eq!(len.result(), Some(expected.len() as i64), "{len:#?}");
    let address = address.result().expect("marker() returns an address") as usize;

    let run = run_node(&cdylib(profile), &["1000"], Some("process"));
    assert_trap(&run, "unreachable");
    // wasm32-unknown-unknown has nowhere to print a panic.
    assert_no_panic(&run);
    assert_eq!(run.stdout, "", "{run:#?}");
    let core = run.core.as_deref().unwrap();
    assert_eq!(
        core.get(address..address + expected.len()),
        Some(expected.as_bytes()),
        "marker at {address:#x}"
    );
}

fn cdylib_without_invoke_is_a_usage_error(profile: Profile) {
    // No WASI and no _start: the runner needs --invoke.
    let run = run_node(&cdylib(profile), &[], None);
    assert_eq!(run.status, Some(USAGE_STATUS), "{run:#?}");
    assert!(!run.trapped());
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
    assert!(run.stderr.starts_with("error: "), "{run:#?}");
    assert!(run.stderr.contains("_start"), "{run:#?}");
}

fn serde_regex_unwrap_err_panics(profile: Profile) {
    let f = Fixture::SerdeRegex;
    let run = run(f, profile, &[]);
    assert_trap(&run, "unreachable");
    assert_eq!(
        run.panic_location(),
        Some(
            f.source_location("from_str::<Config>(json).unwrap()", "unwrap")
                .as_str()
        ),
        "{run:#?}"
    );
    let message = run.panic_message().unwrap_or_default();
    // `"port": "eighty"` does not deserialize into `port: u16`.
    assert!(
        message.starts_with("called `Result::unwrap()` on an `Err` value: Error("),
        "{message}"
    );
    assert!(
        message.contains(r#"invalid type: string \"eighty\", expected u16"#),
        "{message}"
    );
    assert_marker(&run, f);
}

fn serde_regex_panics_inside_serde_json(profile: Profile) {
    let f = Fixture::SerdeRegex;
    let run = run(f, profile, &["index"]);
    assert_trap(&run, "unreachable");
    assert_eq!(
        run.panic_message(),
        Some("cannot access index 0 of JSON object"),
        "{run:#?}"
    );
    // The panic is in serde_json's IndexMut for usize, not in the fixture.
    let location = run.panic_location().unwrap_or_default();
    let (file, line_col) = location
        .split_once(".rs:")
        .unwrap_or_else(|| panic!("odd location {location:?}"));
    assert!(file.contains("serde_json-1."), "{location}");
    assert!(file.ends_with("src/value/index"), "{location}");
    // And that line of serde_json's source is the panic.
    let line: usize = line_col.split(':').next().unwrap().parse().unwrap();
    let source = std::fs::read_to_string(format!("{file}.rs")).unwrap();
    let panic_line = source.lines().nth(line - 1).unwrap();
    assert!(panic_line.contains("panic!"), "{panic_line}");
    assert_marker(&run, f);
}

fn invoke_on_a_wasi_module_stubs_its_imports(profile: Profile) {
    // With --invoke, WASI is not provided: _start's first WASI call hits a stub.
    let run = run_node(&fixture(Fixture::UnwrapNone, profile), &[], Some("_start"));
    assert_eq!(run.status, Some(USAGE_STATUS), "{run:#?}");
    assert!(!run.trapped());
    assert_eq!(run.core, None);
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
    assert!(
        run.stderr.contains("import wasi_snapshot_preview1."),
        "{run:#?}"
    );
    assert!(run.stderr.contains("does not provide"), "{run:#?}");
}

fn no_core_file_without_core_option(profile: Profile) {
    let run = NodeCommand::new(&fixture(Fixture::IndexOob, profile))
        .core(false)
        .run();
    assert_eq!(run.status, Some(TRAP_STATUS), "{run:#?}");
    assert_eq!(run.trap.as_deref(), Some("unreachable"));
    assert_eq!(run.core, None);
    assert!(!run.stderr.contains("core written"), "{run:#?}");
}

// The runner's own argument and error handling.

fn temp_file(name: &str, contents: &[u8]) -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("wasm-coredump-tests-{}-{name}", std::process::id()));
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn runner_help() {
    let run = NodeCommand::new("".as_ref())
        .core(false)
        .runner_args(&["--help"])
        .run();
    assert_eq!(run.status, Some(0), "{run:#?}");
    assert!(run.stdout.starts_with("usage: "), "{run:#?}");
    assert!(
        run.stdout.contains("134"),
        "documents the statuses: {run:#?}"
    );
}

#[test]
fn runner_without_module_is_a_usage_error() {
    let run = NodeCommand::new("".as_ref())
        .core(false)
        .runner_args(&["--core"])
        .run();
    assert_eq!(run.status, Some(USAGE_STATUS), "{run:#?}");
    assert!(run.stderr.starts_with("error: "), "{run:#?}");
}

#[test]
fn runner_rejects_arg_without_invoke() {
    let module = fixture(Fixture::CdylibPanic, Profile::Debug);
    let run = NodeCommand::new(&module).runner_args(&["--arg", "1"]).run();
    assert_eq!(run.status, Some(USAGE_STATUS), "{run:#?}");
    assert!(run.stderr.contains("--arg needs --invoke"), "{run:#?}");
}

#[test]
fn runner_reports_a_missing_module() {
    let missing = std::env::temp_dir().join("wasm-coredump-tests-no-such-module.wasm");
    let run = run_node(&missing, &[], None);
    assert_eq!(run.status, Some(USAGE_STATUS), "{run:#?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
    assert!(
        run.stderr.starts_with("error: cannot read module "),
        "{run:#?}"
    );
    assert_eq!(run.core, None);
}

#[test]
fn runner_reports_an_invalid_module() {
    let path = temp_file("invalid.wasm", b"\0asm\x01\0\0\0 this is not wasm");
    let run = run_node(&path, &[], None);
    let _ = std::fs::remove_file(&path);
    assert_eq!(run.status, Some(USAGE_STATUS), "{run:#?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
    assert!(
        run.stderr.contains("is not a valid WebAssembly module"),
        "{run:#?}"
    );
}

#[test]
fn runner_passes_program_arguments() {
    // The fixture's argv[1] selects what it does.
    let module = fixture(Fixture::UnwrapNone, Profile::Debug);
    assert_eq!(run_node(&module, &["some"], None).status, Some(0));
    assert_eq!(
        run_node(&module, &["other"], None).status,
        Some(TRAP_STATUS)
    );
}

#[test]
fn runner_treats_a_stack_overflow_as_a_trap() {
    // (module (memory (export "memory") 1) (func (export "_start") call 0)): V8 reports the
    // endless recursion as RangeError "Maximum call stack size exceeded", not a RuntimeError.
    let hex = "0061736d01000000010401600000030201000503010001071302065f737461727400\
               00066d656d6f727902000a0601040010000b";
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let path = temp_file("stack-overflow.wasm", &bytes);
    let run = run_node(&path, &[], None);
    let _ = std::fs::remove_file(&path);
    assert_eq!(run.status, Some(TRAP_STATUS), "{run:#?}");
    assert_eq!(
        run.trap.as_deref(),
        Some("Maximum call stack size exceeded"),
        "{run:#?}"
    );
    assert_eq!(run.core.as_deref(), Some(&[0u8; WASM_PAGE_SIZE][..]));
}
