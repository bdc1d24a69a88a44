//! The committed Wasmtime dumps (tests/wasmtime-dumps/dumps) read with
//! crates/coredump: frames named through the fixture's name section, in the
//! order the fixture's source calls them, and the fixture's marker string in
//! memory at the address the program printed.

use coredump::CoreDump;
use wasm_coredump_tests::{
    Fixture, Profile, WASMTIME_DUMPS, fixture, function_names, parse_marker, wasmtime_dump,
};

/// The names of the dump's frames, youngest first.
fn frame_names(kind: Fixture, dump: &CoreDump<'_>) -> Vec<String> {
    let module = std::fs::read(fixture(kind, Profile::Debug)).unwrap();
    let names = function_names(&module);
    dump.threads()[0]
        .frames
        .iter()
        .map(|f| {
            names
                .get(&f.func)
                .unwrap_or_else(|| panic!("{kind}: no name for function {}", f.func))
                .clone()
        })
        .collect()
}

/// Asserts that `expected` appear in `names` in this order, one right after
/// the other.
fn assert_calls(kind: Fixture, names: &[String], expected: &[&str]) {
    let found = names
        .windows(expected.len())
        .any(|w| w.iter().zip(expected).all(|(n, e)| n == e));
    assert!(
        found,
        "{kind}: {expected:?} not found in order in {names:#?}"
    );
}

fn read(kind: Fixture) -> Vec<u8> {
    std::fs::read(wasmtime_dump(kind)).unwrap()
}

#[test]
fn every_committed_dump_parses_without_locals() {
    for &kind in WASMTIME_DUMPS {
        let bytes = read(kind);
        let dump = CoreDump::parse(&bytes).unwrap();
        assert_eq!(dump.threads().len(), 1, "{kind}");
        let frames = &dump.threads()[0].frames;
        assert!(
            frames
                .iter()
                .all(|f| f.locals.is_empty() && f.stack.is_empty())
        );
        // Wasmtime splits memory into many segments with zero runs trimmed.
        assert!(dump.memories()[0].segments.len() > 1, "{kind}");
        let names = frame_names(kind, &dump);
        assert_eq!(names.last().map(String::as_str), Some("_start"), "{kind}");
        assert_eq!(names.len(), frames.len());
    }
}

#[test]
fn mything_frames_follow_the_source() {
    let bytes = read(Fixture::MyThing);
    let dump = CoreDump::parse(&bytes).unwrap();
    let names = frame_names(Fixture::MyThing, &dump);
    assert_calls(
        Fixture::MyThing,
        &names,
        &[
            "mything::calculate",
            "mything::process_thing",
            "mything::main",
        ],
    );
    // Youngest first: the panic machinery is above `calculate`.
    let calculate = names
        .iter()
        .position(|n| n == "mything::calculate")
        .unwrap();
    assert!(calculate > 0);
    assert!(
        names[..calculate].iter().any(|n| n.contains("panic")),
        "{names:#?}"
    );
}

#[test]
fn deep_recursion_records_every_frame() {
    let bytes = read(Fixture::DeepRecursion);
    let dump = CoreDump::parse(&bytes).unwrap();
    let names = frame_names(Fixture::DeepRecursion, &dump);
    let descend = names
        .iter()
        .filter(|n| *n == "deep_recursion::descend")
        .count();
    // The source recurses until depth 150.
    assert_eq!(descend, 150, "{names:#?}");
}

#[test]
fn unwrap_none_and_div_zero_frames_follow_the_source() {
    let bytes = read(Fixture::UnwrapNone);
    let dump = CoreDump::parse(&bytes).unwrap();
    let names = frame_names(Fixture::UnwrapNone, &dump);
    assert_calls(
        Fixture::UnwrapNone,
        &names,
        &["unwrap_none::lookup_user", "unwrap_none::main"],
    );
    let bytes = read(Fixture::DivZero);
    let dump = CoreDump::parse(&bytes).unwrap();
    let names = frame_names(Fixture::DivZero, &dump);
    assert_calls(Fixture::DivZero, &names, &["div_zero::divide"]);
}

#[test]
fn markers_are_at_the_printed_address() {
    for &kind in WASMTIME_DUMPS {
        let Some(marker) = kind.marker() else {
            continue;
        };
        let stdout = std::fs::read_to_string(wasmtime_dump(kind).with_extension("stdout")).unwrap();
        let printed = parse_marker(&stdout).unwrap_or_else(|| panic!("{kind}: no marker line"));
        assert_eq!(printed.text, marker);
        let bytes = read(kind);
        let dump = CoreDump::parse(&bytes).unwrap();
        let found = dump
            .read(0, printed.address as u64, marker.len() as u64)
            .unwrap();
        assert_eq!(&*found, marker.as_bytes(), "{kind}");
    }
}
