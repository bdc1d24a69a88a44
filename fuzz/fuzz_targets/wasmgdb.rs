//! wasmgdb's command and expression parsers and their evaluation: each line of the input is a
//! command run against a real dump (tests/build-id-forms/spec: a C program trapped in `clamp`,
//! its locals recorded), in a fresh session per input, so a line may act on what the lines
//! before it selected or printed (`frame 1`, `$1`, an empty line repeating `x`). A command gives
//! a reply or an error, never a panic. `directory` and `set substitute-path` are skipped: they
//! only point `list` at files on this machine.
#![no_main]

use std::path::Path;

use coredump::CoreDump;
use debuginfo::{DebugInfo, Module};
use libfuzzer_sys::fuzz_target;
use wasm_coredump_fuzz as _;
use wasmgdb::{Command, LoadOptions, Session, command};

const DUMP: &[u8] = include_bytes!("../../tests/build-id-forms/spec/app.coredump");
const MODULE: &[u8] = include_bytes!("../../tests/build-id-forms/spec/app.wasm");
const DEBUG_FILE: &[u8] = include_bytes!(
    "../../tests/build-id-forms/spec/debug-40e7f9d4-1186-5f41-8f7d-e807750b9096.wasm"
);

/// The most lines of an input that run.
const MAX_LINES: usize = 16;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let info = DebugInfo::with_debug_file(
        Module::parse(MODULE).unwrap(),
        Module::parse(DEBUG_FILE).unwrap(),
    )
    .unwrap();
    let dump = CoreDump::parse(DUMP).unwrap();
    let mut session =
        Session::new(Path::new("app.wasm"), dump, info, &LoadOptions::default()).unwrap();
    for line in text.lines().take(MAX_LINES) {
        if let Ok(Command::Directory(_) | Command::SetSubstitutePath { .. }) = command::parse(line)
        {
            continue;
        }
        let _ = session.run_line(line);
    }
});
