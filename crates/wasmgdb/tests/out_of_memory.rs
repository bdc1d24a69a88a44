//! The out-of-memory fixture (tests/fixtures/out-of-memory/src/main.rs): memory is at its
//! maximum when `exhaust` (called by `nest(1)`, itself under `nest(2)` .. `nest(5)`) aborts, so
//! the rewritten module writes its dump over the dead stack below the stack pointer. wasmgdb says
//! so in a note, debugs the frames as usual, and refuses to read the memory the dump covers.

mod common;

use wasm_coredump_tests::{Fixture, Profile};

#[test]
fn a_dump_written_in_the_dead_stack_is_noted_and_read() {
    let d = common::rewritten_dump(Fixture::OutOfMemory, Profile::Debug, &[]);
    let nest = common::level_of(&d.original, &d.dump, "out_of_memory::nest");
    let frame_nest = format!("frame {nest}");
    let t = common::transcript(
        &d.original,
        &d.dump,
        &["bt", &frame_nest, "info args", "print weight", "x/4xb 0"],
    );
    // Beside the note on the original offsets, which the original module brings.
    let notes: Vec<&str> = t.lines().take_while(|l| l.starts_with("note:")).collect();
    let full: Vec<&&str> = notes
        .iter()
        .filter(|n| n.starts_with("note: memory was full"))
        .collect();
    assert_eq!(full.len(), 1, "{t}");
    assert!(
        full[0].starts_with(
            "note: memory was full at the trap, so the dump was written over the dead stack \
             below the stack pointer: memory 0x0.."
        ) && full[0].ends_with(" is not in the dump"),
        "{t}"
    );
    // `nest(level)` from 1 (youngest) to 5, each with `weight = level * 1_000_003`.
    for level in 1..=5 {
        assert!(
            t.contains(&format!("out_of_memory::nest (level={level})")),
            "{t}"
        );
    }
    assert!(t.contains("out_of_memory::exhaust (seed=1000003)"), "{t}");
    let after = |cmd: &str| {
        let (_, rest) = t.split_once(&format!("(wasmgdb) {cmd}\n")).unwrap();
        rest.lines().next().unwrap().to_string()
    };
    assert_eq!(after("info args"), "level = 1");
    assert_eq!(after("print weight"), "$1 = 1000003");
    assert!(
        after("x/4xb 0").starts_with("Cannot access memory at address 0x0: memory below 0x"),
        "{t}"
    );
}
