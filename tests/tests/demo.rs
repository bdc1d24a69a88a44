//! The README's main job, `cargo run -p wasm-coredump-tests --bin demo`, end to end: the service
//! it starts logs the symbolized stack, and wasmgdb, given the stored dump's URL, shows the
//! frames and the crashing function's argument from the MyThing source.

use std::path::PathBuf;
use std::process::Command;

use wasm_coredump_tests::{Fixture, workspace_root};

#[test]
fn the_demo_runs_the_whole_pipeline() {
    // The tools as the workspace's tests build them (nothing to do under `cargo test
    // --workspace`): the demo's own `cargo build` would build their dependencies a second time,
    // with other features, for minutes.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = workspace_root();
    let built = Command::new(cargo)
        .current_dir(&root)
        .args(["test", "--workspace", "--no-run", "--quiet"])
        .status()
        .expect("cargo runs");
    assert!(built.success(), "building the tools failed");
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let output = Command::new(env!("CARGO_BIN_EXE_demo"))
        .env("WASM_COREDUMP_TOOLS", target.join("debug"))
        .output()
        .expect("the demo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let kind = Fixture::MyThing;
    let line = |snippet: &str| {
        let location = kind.source_location(snippet, snippet);
        let mut parts = location.split(':');
        format!("{}:{}", parts.next().unwrap(), parts.next().unwrap())
    };
    // The service's log, as the older service printed it, with the crashing lines.
    for expected in [
        "Error: Wasm trapped.".to_string(),
        format!("at mything::calculate ({})", line("value - 10")),
        format!(
            "at mything::process_thing ({})",
            line("let result = calculate")
        ),
        format!("at mything::main ({})", line("process_thing(&thing)")),
    ] {
        assert!(stdout.contains(&expected), "no {expected:?} in:\n{stdout}");
    }
    // wasmgdb on the stored dump, its debug file fetched from the service.
    assert!(stdout.contains("note: fetched debug-"), "{stdout}");
    let frame = format!("in mything::calculate (value=3) at {}", line("value - 10"));
    assert!(stdout.contains(&frame), "no {frame:?} in:\n{stdout}");
    assert!(
        stdout.lines().any(|l| l == "value = 3"),
        "info args: {stdout}"
    );
}
