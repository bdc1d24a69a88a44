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
    // Files show as the DWARF records them, relative to the compilation directory, as gdb
    // shows them: `mything/src/main.rs`, not the absolute path.
    assert!(
        t.contains(&format!("in mything::calculate (value=3) at {calc_line}\n")),
        "{t}"
    );
    assert!(t.contains("in mything::process_thing (thing=0x"), "{t}");
    assert!(t.contains(&format!(") at {process_line}\n")), "{t}");
    assert!(
        t.contains(&format!("in mything::main () at {main_line}\n")),
        "{t}"
    );
    let root = wasm_coredump_tests::workspace_root();
    assert!(!t.contains(root.to_str().unwrap()), "{t}");
    // The standard library's own units record paths relative to `/rustc/<commit>`; code of it
    // instantiated in the fixture's units records the absolute path.
    assert!(t.contains(" at library/core/src/panicking.rs:"), "{t}");
    assert!(t.contains(" at /rustc/"), "{t}");
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
    // `info line`: the line's first statement row, from its address to the next row's, both
    // in `process_thing`.
    let info_line = t
        .lines()
        .find(|l| l.starts_with("Line "))
        .expect("info line");
    let prefix = format!(
        "Line {n} of \"{}\" starts at address 0x",
        process_line.rsplit_once(':').unwrap().0
    );
    assert!(info_line.starts_with(&prefix), "{info_line}");
    let offsets: Vec<u32> = info_line
        .split("<mything::process_thing+")
        .skip(1)
        .map(|p| p.split('>').next().unwrap().parse().unwrap())
        .collect();
    assert!(
        offsets.len() == 2 && offsets[0] < offsets[1] && info_line.ends_with(">."),
        "{info_line}"
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
            "info args",
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

#[test]
fn info_source_names_the_file_as_recorded_and_where_it_is() {
    let d = common::rewritten_dump(Fixture::MyThing, Profile::Debug, &[]);
    let calculate = common::level_of(&d.original, &d.dump, "mything::calculate");
    let t = common::transcript(
        &d.original,
        &d.dump,
        &[&format!("frame {calculate}"), "info source"],
    );
    let kind = Fixture::MyThing;
    let fixtures = kind.source_dir().parent().unwrap().to_path_buf();
    let lines = std::fs::read_to_string(kind.source_file())
        .unwrap()
        .lines()
        .count();
    let expected = format!(
        "Current source file is {}\nCompilation directory is {}\nLocated in {}\nContains {lines} lines.\nSource language is rust.\n",
        kind.source_path_in_build(),
        fixtures.display(),
        kind.source_file().display(),
    );
    assert!(t.contains(&expected), "{t}");
}

#[test]
fn an_empty_line_repeats_the_previous_command() {
    let d = common::rewritten_dump(Fixture::MyThing, Profile::Debug, &[]);
    let calculate = common::level_of(&d.original, &d.dump, "mything::calculate");
    let t = common::transcript(
        &d.original,
        &d.dump,
        &[
            &format!("frame {calculate}"),
            "up",
            "",
            "list",
            "",
            "x/2xw &thing",
            "",
            "print thing.value",
            "",
            "foo",
            "",
        ],
    );
    // `up` twice: calculate -> process_thing -> main.
    let main_line = line_of("process_thing(&thing)");
    assert!(
        t.contains(&format!("in mything::main () at {main_line}\n")),
        "{t}"
    );
    // `list` goes on: the second listing starts after the first.
    let n: usize = main_line.rsplit(':').next().unwrap().parse().unwrap();
    let first = n - 5;
    assert!(t.contains(&format!("(wasmgdb) list\n{first}\t")), "{t}");
    assert!(
        t.contains(&format!("\n(wasmgdb) \n{}\t", first + 10)),
        "{t}"
    );
    // `x` goes on at the next address; `print` records a new history value.
    assert!(t.contains("$1 = 3\n(wasmgdb) \n$2 = 3\n"), "{t}");
    // An undefined command leaves nothing to repeat.
    assert!(
        t.ends_with("Undefined command: \"foo\".  Try \"help\".\n(wasmgdb) \n"),
        "{t}"
    );
    snapshot!("mything_repeat", t);
}

/// `list FUNCTION` centers on where the function is declared, on the stack or not; `list A,B`,
/// `list A,` and `list ,B` show those lines; `info line FUNCTION` gives the line it begins at.
/// Expected lines come from the fixture's source, centered as gdb centers them (ten lines, the
/// target fifth).
#[test]
fn list_and_info_line_take_functions_and_line_ranges() {
    let d = common::rewritten_dump(Fixture::MyThing, Profile::Debug, &[]);
    let source = std::fs::read_to_string(
        wasm_coredump_tests::workspace_root().join("tests/fixtures/mything/src/main.rs"),
    )
    .unwrap();
    let lines: Vec<&str> = source.lines().collect();
    let shown = |first: usize, last: usize| {
        (first..=last.min(lines.len()))
            .map(|n| format!("{n}\t{}\n", lines[n - 1]))
            .collect::<String>()
    };
    let line_number = |snippet: &str| lines.iter().position(|l| l.contains(snippet)).unwrap() + 1;
    let main = line_number("fn main()");
    let calculate = line_number("fn calculate(");
    let t = common::transcript(
        &d.original,
        &d.dump,
        &[
            "list mything::main",
            "list 2,4",
            "list 5,",
            "list ,6",
            "info line mything::calculate",
            "list nonesuch",
        ],
    );
    let expected = [
        (
            "list mything::main",
            shown(
                main.saturating_sub(5).max(1),
                main.saturating_sub(5).max(1) + 9,
            ),
        ),
        ("list 2,4", shown(2, 4)),
        ("list 5,", shown(5, 14)),
        ("list ,6", shown(1, 6)),
    ];
    for (command, lines) in expected {
        assert!(
            t.contains(&format!("(wasmgdb) {command}\n{lines}(wasmgdb)")),
            "{command}:\n{t}"
        );
    }
    assert!(
        t.contains(&format!(
            "(wasmgdb) info line mything::calculate\nLine {calculate} of \"mything/src/main.rs\" starts at address "
        )),
        "{t}"
    );
    assert!(t.ends_with("Function \"nonesuch\" not defined.\n"), "{t}");
}

/// `info scope FUNCTION`: each variable with where llvm-dwarfdump says it is (`calculate`'s
/// `value`: `DW_OP_fbreg +N`) and its size (a `usize`: 4 bytes on wasm32), in gdb's words.
#[test]
fn info_scope_says_where_each_variable_is() {
    let d = common::rewritten_dump(Fixture::MyThing, Profile::Debug, &[]);
    let dump = std::process::Command::new("llvm-dwarfdump")
        .arg("--debug-info")
        .arg(&d.original)
        .output()
        .expect("llvm-dwarfdump runs (Debian package llvm)");
    let dump = String::from_utf8_lossy(&dump.stdout);
    let calculate = dump.find("DW_AT_name\t(\"calculate\")").unwrap();
    let location = &dump[calculate..];
    let offset: i64 = location
        .split_once("DW_AT_location\t(DW_OP_fbreg ")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(n, _)| n.trim_start_matches('+').parse().unwrap())
        .unwrap();
    let t = common::transcript(
        &d.original,
        &d.dump,
        &["info scope mything::calculate", "info scope nonesuch"],
    );
    assert!(
        t.contains(&format!(
            "Scope for mything::calculate:\nSymbol value is a variable at frame base offset {offset}, length 4.\n"
        )),
        "{t}"
    );
    assert!(t.ends_with("Function \"nonesuch\" not defined.\n"), "{t}");
}
