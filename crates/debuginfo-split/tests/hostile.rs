//! The standing hostile-input suite (`wasm_coredump_tests::hostile`) on debuginfo-split's CLI.

use std::path::PathBuf;
use std::process::Command;

use wasm_coredump_tests::hostile;

#[test]
fn hostile_inputs_and_outputs_are_refused_in_one_line_and_leave_nothing() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hostile-split");
    hostile::check_tool(&dir, |input, output| {
        // The debug file next to the output (by default it goes to the working directory).
        let mut command = Command::new(env!("CARGO_BIN_EXE_debuginfo-split"));
        command.arg(input).arg("-o").arg(output);
        command.arg("-d").arg(output.with_file_name("debug.wasm"));
        command
    });
}
