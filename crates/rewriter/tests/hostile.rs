//! The standing hostile-input suite (`wasm_coredump_tests::hostile`) on the rewriter's CLI.

use std::path::PathBuf;
use std::process::Command;

use wasm_coredump_tests::hostile;

#[test]
fn hostile_inputs_and_outputs_are_refused_in_one_line_and_leave_nothing() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hostile-rewriter");
    hostile::check_tool(&dir, |input, output| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_wasm-coredump-rewriter"));
        command.arg(input).arg("-o").arg(output);
        command
    });
}
