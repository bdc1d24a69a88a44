//! The standing hostile-input suite (`wasm_coredump_tests::hostile`) on the rewriter's CLI.

use std::path::{Path, PathBuf};
use std::process::Command;

use wasm_coredump_tests::{Fixture, Profile, fixture, hostile};

/// `wasm-coredump-rewriter INPUT -o OUTPUT`.
fn rewrite(input: &Path, output: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wasm-coredump-rewriter"));
    command.arg(input).arg("-o").arg(output);
    command
}

fn scratch(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name)
}

#[test]
fn hostile_inputs_are_refused_in_one_line_and_leave_nothing() {
    let valid = std::fs::read(fixture(Fixture::MyThing, Profile::Release)).unwrap();
    hostile::feed_inputs(&scratch("hostile-rewriter-inputs"), &valid, rewrite);
}

#[test]
fn outputs_it_cannot_write_are_refused_and_symlinks_written_through() {
    let valid = std::fs::read(fixture(Fixture::MyThing, Profile::Release)).unwrap();
    hostile::feed_outputs(&scratch("hostile-rewriter-outputs"), &valid, rewrite);
}
