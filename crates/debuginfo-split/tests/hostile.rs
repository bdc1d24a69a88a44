//! The standing hostile-input suite (`wasm_coredump_tests::hostile`) on debuginfo-split's CLI.

use std::path::{Path, PathBuf};
use std::process::Command;

use wasm_coredump_tests::{Fixture, Profile, fixture, hostile};

/// `debuginfo-split INPUT -o OUTPUT -d DEBUG`, the debug file `debug.wasm` next to OUTPUT (by
/// default it goes to the working directory).
fn split(input: &Path, output: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_debuginfo-split"));
    command.arg(input).arg("-o").arg(output);
    command.arg("-d").arg(output.with_file_name("debug.wasm"));
    command
}

fn scratch(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name)
}

#[test]
fn hostile_inputs_are_refused_in_one_line_and_leave_nothing() {
    let valid = std::fs::read(fixture(Fixture::MyThing, Profile::Release)).unwrap();
    hostile::feed_inputs(&scratch("hostile-split-inputs"), &valid, split);
}

#[test]
fn outputs_it_cannot_write_are_refused_and_symlinks_written_through() {
    let valid = std::fs::read(fixture(Fixture::MyThing, Profile::Release)).unwrap();
    hostile::feed_outputs(&scratch("hostile-split-outputs"), &valid, split);
}
