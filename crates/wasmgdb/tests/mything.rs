//! Transcripts of the MyThing fixture (tests/fixtures/mything/src/main.rs): `main` (line 7)
//! calls `process_thing(&thing)` with `thing = MyThing { value: 3 }`; `process_thing` (line 11)
//! calls `calculate(thing.value)`; `calculate` (line 16) computes `value - 10` and panics.
//! Every expected fact below comes from that source.

mod common;

use wasm_coredump_tests::{Fixture, Profile, fixture, wasmtime_dump};

/// The line of the fixture's source that contains `snippet`.
fn line_of(snippet: &str) -> String {
    let loc = Fixture::MyThing.source_location(snippet, snippet.split_whitespace().next().unwrap());
    // `mything/src/main.rs:16:5` -> `mything/src/main.rs:16`
    loc.rsplit_once(':').unwrap().0.to_string()
}

#[test]
fn debug_build_backtrace_frames_and_values() {
    let d = common::rewritten_dump(Fixture::MyThing, Profile::Debug, &[]);
    let process = common::level_of(&d.original, &d.dump, "mything::process_thing");
    let calculate = common::level_of(&d.original, &d.dump, "mything::calculate");
    let main = common::level_of(&d.original, &d.dump, "mything::main");
    assert_eq!((calculate + 1, calculate + 2), (process, main));
    let frame_process = format!("frame {process}");
    let frame_calculate = format!("frame {calculate}");
    let t = common::transcript(
        &d.original,
        &d.dump,
        &[
            "bt",
            &frame_process,
            "print *thing",
            "print thing->value",
            "print thing.value",
            "print thing",
            "info args",
            "up",
            "info locals",
            "print thing",
            "print &thing",
            "print $2 + 7",
            "print/x $",
            &frame_calculate,
            "info locals",
            "info args",
            "print value",
            "print value - 10",
            "ptype value",
            "down",
            "frame 99",
            "foo",
            "info foo",
            "print nothing_here",
            "x/4xw 0xfffffffc",
        ],
    );
    // The facts, from the source.
    let calc_line = line_of("value - 10");
    let process_line = line_of("let result = calculate(thing.value)");
    let main_line = line_of("process_thing(&thing)");
    assert!(
        t.contains("mything::calculate (value=3) at ") && t.contains(&calc_line),
        "{t}"
    );
    assert!(t.contains("in mything::process_thing (thing=0x"), "{t}");
    assert!(t.contains(&process_line), "{t}");
    assert!(t.contains("in mything::main () at "), "{t}");
    assert!(t.contains(&main_line), "{t}");
    assert!(t.contains("$1 = mything::MyThing {value: 3}\n"), "{t}");
    assert!(t.contains("$2 = 3\n"), "{t}");
    assert!(t.contains("\nvalue = 3\n"), "{t}");
    assert!(t.contains("No frame at level 99.\n"), "{t}");
    assert!(
        t.contains("Undefined command: \"foo\".  Try \"help\".\n"),
        "{t}"
    );
    assert!(
        t.contains("Cannot access memory at address 0xfffffffc\n"),
        "{t}"
    );
    assert!(
        t.contains("using the dump's original (pre-rewrite) code offsets"),
        "{t}"
    );
    snapshot!("mything_debug", t);
}

#[test]
fn debug_build_source_disassembly_and_memory() {
    let d = common::rewritten_dump(Fixture::MyThing, Profile::Debug, &[]);
    let process = common::level_of(&d.original, &d.dump, "mything::process_thing");
    let frame_process = format!("frame {process}");
    let t = common::transcript(
        &d.original,
        &d.dump,
        &[
            &frame_process,
            "list",
            "info line",
            "info frame",
            "x/2xw thing",
            "x/2dw",
            "find thing, +8, 3",
            "find /b thing, +4, (u8)3",
            "p *(mything::MyThing *) thing",
            "p {usize} thing",
            "p sizeof(mything::MyThing)",
            "ptype thing",
            "whatis *thing",
            "ptype mything::MyThing",
            "info symbol func[9]",
            "info functions ^mything::",
            "info types MyThing",
            "info imports",
            "info globals",
            "info threads",
            "disassemble",
        ],
    );
    let process_line = line_of("let result = calculate(thing.value)");
    let n = process_line.rsplit(':').next().unwrap();
    assert!(
        t.contains(&format!(
            "\n{n}\t    let result = calculate(thing.value);\n"
        )),
        "{t}"
    );
    assert!(t.contains("=> 0x"), "{t}");
    assert!(t.contains("call $_ZN7mything9calculate"), "{t}");
    assert!(t.contains("1 pattern found.\n"), "{t}");
    assert!(
        t.contains("type = struct mything::MyThing {\n  value: usize,\n}"),
        "{t}"
    );
    snapshot!("mything_debug_more", t);
}

#[test]
fn a_wasmtime_dump_has_the_same_functions_and_no_locals() {
    let d = common::rewritten_dump(Fixture::MyThing, Profile::Debug, &[]);
    let module = fixture(Fixture::MyThing, Profile::Debug);
    let ours = std::fs::read(&d.dump).unwrap();
    let theirs = std::fs::read(wasmtime_dump(Fixture::MyThing)).unwrap();
    let names = |bytes: &[u8]| -> Vec<String> {
        let s = wasmgdb::Session::load(&module, bytes, &Default::default()).unwrap();
        s.frames()
            .iter()
            .map(|f| f.symbol.function.name.clone())
            .collect()
    };
    assert_eq!(names(&ours), names(&theirs));
    let calculate = common::level_of(
        &module,
        &wasmtime_dump(Fixture::MyThing),
        "mything::calculate",
    );
    let t = common::transcript(
        &module,
        &wasmtime_dump(Fixture::MyThing),
        &[
            "bt 1",
            &format!("frame {calculate}"),
            "info locals",
            "print value",
        ],
    );
    assert!(
        t.contains("values of parameters and locals are unavailable"),
        "{t}"
    );
    assert!(t.contains("value = <unavailable>"), "{t}");
    snapshot!("mything_wasmtime", t);
}

#[test]
fn release_build_shows_inlined_frames() {
    let d = common::rewritten_dump(Fixture::MyThing, Profile::Release, &[]);
    let bytes = std::fs::read(&d.dump).unwrap();
    let s = wasmgdb::Session::load(&d.original, &bytes, &Default::default()).unwrap();
    let ours: Vec<_> = s
        .frames()
        .iter()
        .filter(|f| f.symbol.function.name.starts_with("mything::"))
        .collect();
    assert!(ours.iter().any(|f| f.symbol.inlined), "{ours:#?}");
    let t = common::transcript(&d.original, &d.dump, &["bt"]);
    assert!(t.contains("mything::calculate"), "{t}");
    assert!(t.contains("mything::main"), "{t}");
    snapshot!("mything_release", t);
}
