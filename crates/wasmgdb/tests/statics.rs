//! Global variables: the deep-recursion fixture (tests/fixtures/deep-recursion/src/main.rs)
//! keeps `static MARKER: &str = "wasm-coredump marker: deep-recursion"` (line 14).

mod common;

use wasm_coredump_tests::{Fixture, Profile};

#[test]
fn print_reads_a_static_from_linear_memory() {
    let kind = Fixture::DeepRecursion;
    let marker = kind.marker().unwrap();
    let d = common::rewritten_dump(kind, Profile::Debug, &[]);
    let descend = common::level_of(&d.original, &d.dump, "deep_recursion::descend");
    let t = common::transcript(
        &d.original,
        &d.dump,
        &[
            "print MARKER",
            "print deep_recursion::MARKER",
            "print MARKER.length",
            "whatis MARKER",
            "info variables MARKER",
            &format!("frame {}", descend + 3),
            "print MARKER",
            "print no_such_static",
        ],
    );
    // By plain and by qualified name, from the innermost frame and from another one.
    let printed = format!("= \"{marker}\"\n");
    assert_eq!(t.matches(&printed).count(), 3, "{t}");
    assert!(t.contains(&format!("$3 = {}\n", marker.len())), "{t}");
    assert!(t.contains("type = &str\n"), "{t}");
    assert!(
        t.contains("  static deep_recursion::MARKER: &str;\n"),
        "{t}"
    );
    // gdb's words in a Rust frame.
    assert!(
        t.contains("No symbol 'no_such_static' in current context\n"),
        "{t}"
    );
    snapshot!("statics_debug", t);
}

#[test]
fn a_release_build_keeps_the_static_too() {
    let kind = Fixture::DeepRecursion;
    let d = common::rewritten_dump(kind, Profile::Release, &[]);
    let t = common::transcript(&d.original, &d.dump, &["print MARKER"]);
    assert!(
        t.contains(&format!("$1 = \"{}\"\n", kind.marker().unwrap())),
        "{t}"
    );
}
