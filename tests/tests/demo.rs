//! The README's main job, `cargo run -p wasm-coredump-tests --bin demo`, end to end: the service
//! it starts logs the symbolized stack, and wasmgdb, given the stored dump's URL, shows the
//! frames and the crashing function's local from the MyThing source.

use std::process::Command;

use wasm_coredump_tests::Fixture;

#[test]
fn the_demo_runs_the_whole_pipeline() {
    let output = Command::new(env!("CARGO_BIN_EXE_demo"))
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
        "info locals: {stdout}"
    );
}
