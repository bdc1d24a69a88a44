//! Expressions on literals in a Rust frame, against what gdb 13 (`rust-gdb`, Debian 13.1) printed
//! for the same commands in a Rust frame of a native build: literal types, float arithmetic and
//! printing, comparisons, integer promotion, output formats. Where gdb refuses 128-bit
//! arithmetic, wasmgdb computes it exactly (README, wasmgdb).

mod common;

use wasm_coredump_tests::{Fixture, Profile};

/// `(command, gdb's output)`, the history number (`$N = `) left out.
const GDB: &[(&str, &str)] = &[
    ("print 0.1", "0.10000000000000001"),
    ("print 1.5 + 2", "3.5"),
    ("print 1.0/3", "0.33333333333333331"),
    ("print 1e300*1e300", "inf"),
    ("print 5.0/2", "2.5"),
    ("print 1.0e10", "10000000000"),
    ("print 1e-5", "1.0000000000000001e-05"),
    ("print 123456789.0", "123456789"),
    ("print 0.0001", "0.0001"),
    ("print 100.0", "100"),
    ("print 2.5f32", "2.5"),
    ("whatis 2.5f32", "type = f32"),
    ("whatis 0.1", "type = f64"),
    ("print 1 < 2", "true"),
    ("whatis 1 < 2", "type = bool"),
    ("print 3 == 3.0", "true"),
    ("print !true", "false"),
    ("print 1 && 0", "false"),
    ("print 1 || 0", "true"),
    ("print 7 & 3", "3"),
    ("print 5/2", "2"),
    ("print -5 / 2", "-2"),
    ("print -5 % 3", "-2"),
    ("whatis 5", "type = i32"),
    ("whatis 2147483648", "type = i64"),
    ("whatis 1 + 1", "type = long"),
    ("print 2147483647 + 1", "2147483648"),
    ("print 9223372036854775807 + 1", "-9223372036854775808"),
    ("print 18446744073709551615", "-1"),
    ("print 18446744073709551616", "Integer literal is too large"),
    ("print 1u8 + 255u8", "256"),
    ("whatis 1u8", "type = u8"),
    ("print/x 1.5", "0x3ff8000000000000"),
    ("print/f 3", "4.20389539e-45"),
    ("print/c 65", "65 'A'"),
    ("print/x -1", "0xffffffff"),
    ("print/o 8", "010"),
    ("print/t 5", "101"),
    ("frame 99", "No frame at level 99."),
    ("frame -1", "No frame at level -1."),
    ("info frame 99", "No frame at level 99."),
    ("print 3 as f64", "3"),
    ("print 2.7 as i32", "2"),
    ("print -1 as u8", "255"),
    ("print $nonesuch", "void"),
    ("output 5", "5"),
    ("output/x 255", "0xff"),
    ("echo hello\\n", "hello"),
    (
        r#"printf "%d %5u|%-4x|%04d %c %.3f %e %g %%\n", -5, 7, 255, 42, 65, 3.14159, 1.5, 0.1"#,
        "-5     7|ff  |0042 A 3.142 1.500000e+00 0.1 %",
    ),
    (
        r#"printf "%d\n""#,
        "Wrong number of arguments for specified format-string",
    ),
    (
        r#"printf "x\n", 5"#,
        "Wrong number of arguments for specified format-string",
    ),
];

#[test]
fn literal_expressions_print_as_gdb_prints_them() {
    let d = common::rewritten_dump(Fixture::MyThing, Profile::Debug, &[]);
    let bytes = std::fs::read(&d.dump).unwrap();
    let mut session =
        wasmgdb::Session::load(&d.original, &bytes, &wasmgdb::LoadOptions::default()).unwrap();
    // The panic's frame, `mything::calculate`: Rust.
    let mut differences = Vec::new();
    for (command, gdb) in GDB {
        let shown = match session.run_line(command) {
            Ok(wasmgdb::Outcome::Reply(r)) => r.text,
            Ok(wasmgdb::Outcome::Quit) => "(quit)".into(),
            Err(e) => e.to_string(),
        };
        let shown = shown.trim_end();
        let value = match shown.split_once(" = ") {
            Some((history, value)) if history.starts_with('$') => value,
            _ => shown,
        };
        if value != *gdb {
            differences.push(format!("{command}: gdb {gdb:?}, wasmgdb {value:?}"));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// Where gdb refuses ("That operation is not available on integers of more than 8 bytes."),
/// 128-bit integers are computed exactly, in their own type.
#[test]
fn integers_of_128_bits_are_exact() {
    let d = common::rewritten_dump(Fixture::MyThing, Profile::Debug, &[]);
    let t = common::transcript(
        &d.original,
        &d.dump,
        &[
            "print 170141183460469231i128 * 1000000000000000000i128 + 1",
            "print (0u128 - 1) % 1000",
            "print/x 0u128 - 1",
            "print 0u128 - 1 > 5",
            "print -1i128 < 5u128",
            "whatis 1i128 + 1",
        ],
    );
    let values: Vec<&str> = t
        .lines()
        .filter_map(|l| l.split_once(" = ").map(|(_, v)| v))
        .collect();
    assert_eq!(
        values,
        [
            // 170141183460469231 * 10^18 + 1, within i128.
            "170141183460469231000000000000000001",
            // u128::MAX % 1000: 340282366920938463463374607431768211455 ends in 455.
            "455",
            "0xffffffffffffffffffffffffffffffff",
            "true",
            "true",
            "i128",
        ],
        "{t}"
    );
}

/// `x/-N`, a bare `x`, `$_`, `@` and `as` on MyThing's `thing` (`MyThing { value: 3 }`, its
/// only field a `usize`, in `process_thing`), with gdb's behaviour: a bare `x` repeats the last
/// count and goes on; `x/-N` shows the N units before the address, and repeated goes further
/// back; `$_` is the last unit examined.
#[test]
fn memory_commands_follow_gdb() {
    let d = common::rewritten_dump(Fixture::MyThing, Profile::Debug, &[]);
    let process = common::level_of(&d.original, &d.dump, "mything::process_thing");
    let bytes = std::fs::read(&d.dump).unwrap();
    let mut session =
        wasmgdb::Session::load(&d.original, &bytes, &wasmgdb::LoadOptions::default()).unwrap();
    let mut run = |command: &str| match session.run_line(command) {
        Ok(wasmgdb::Outcome::Reply(r)) => r.text,
        other => panic!("{command}: {other:?}"),
    };
    run(&format!("frame {process}"));
    let address = run("output thing");
    let address = u64::from_str_radix(address.rsplit("0x").next().unwrap(), 16).unwrap();
    let line = |at: u64, values: &str| format!("{at:#x}:\t{values}\n");
    let next = word(&bytes_at(&d, address + 4));
    assert_eq!(
        run("x/2xw thing"),
        line(address, &format!("0x00000003\t{next}"))
    );
    assert_eq!(
        run("x"),
        line(
            address + 8,
            &format!(
                "{}\t{}",
                word(&bytes_at(&d, address + 8)),
                word(&bytes_at(&d, address + 12))
            )
        )
    );
    assert_eq!(run("output $_"), format!("(*mut i32) {:#x}", address + 12));
    assert_eq!(
        run(&format!("x/-1xw {}", address + 4)),
        line(address, "0x00000003")
    );
    assert_eq!(
        run("x"),
        line(address - 4, &word(&bytes_at(&d, address - 4)))
    );
    assert_eq!(run("output *thing@1"), "[mything::MyThing {value: 3}]");
    assert_eq!(run("whatis *thing@2"), "type = [mything::MyThing; 2]\n");
    assert_eq!(run("output thing.value as u8 + 1"), "4");
    assert_eq!(run(&format!("output *({address:#x} as *const u32)")), "3");
}

/// The 4 bytes of the dump's memory at `address`.
fn bytes_at(d: &common::Dump, address: u64) -> [u8; 4] {
    let bytes = std::fs::read(&d.dump).unwrap();
    let dump = coredump::CoreDump::parse(&bytes).unwrap();
    dump.read(0, address, 4)
        .unwrap()
        .as_ref()
        .try_into()
        .unwrap()
}

/// A little-endian word as `x/xw` shows it.
fn word(bytes: &[u8; 4]) -> String {
    format!("{:#010x}", u32::from_le_bytes(*bytes))
}

/// A variable the compiler kept no location for (deep-recursion's release build, in the
/// innermost `descend`, where `bt full` shows them `<optimized out>`): `print` shows it as gdb
/// does, `$1 = <optimized out>`, `whatis` and `ptype` still give its type (from the source:
/// `even: bool`, `quarter: f64`, `negative: i8`), and arithmetic on it is gdb's error.
#[test]
fn an_optimized_out_variable_prints_as_gdb_prints_it() {
    let d = common::rewritten_dump(Fixture::DeepRecursion, Profile::Release, &[]);
    let innermost = common::level_of(&d.original, &d.dump, "deep_recursion::descend");
    let t = common::transcript(
        &d.original,
        &d.dump,
        &[
            &format!("frame {innermost}"),
            "info locals",
            "print even",
            "whatis even",
            "ptype quarter",
            "whatis negative",
            "print even + 1",
            "output quarter",
        ],
    );
    let after = |command: &str| {
        let at = t.find(&format!("(wasmgdb) {command}\n")).unwrap() + command.len() + 11;
        t[at..].lines().next().unwrap().to_string()
    };
    assert!(t.contains("even = <optimized out>\n"), "{t}");
    assert_eq!(after("print even"), "$1 = <optimized out>");
    assert_eq!(after("whatis even"), "type = bool");
    assert_eq!(after("ptype quarter"), "type = f64");
    assert_eq!(after("whatis negative"), "type = i8");
    assert_eq!(after("print even + 1"), "value has been optimized out");
    assert!(
        t.ends_with("(wasmgdb) output quarter\n<optimized out>"),
        "{t}"
    );
}

/// Indexing a `Vec`, a `VecDeque` (its ring buffer wrapped: `push_front` after two `push_back`s
/// into a capacity of 4), a `String` and a `&str`, which gdb cannot do, as a Rust developer
/// expects: the element, or Rust's bounds error. Values from typezoo's source: `numbers =
/// vec![1, 2, 3, 5, 8]`, `queue` 10, 20, 30, `text = "zoo"`, `greeting = "hello"`.
#[test]
fn rust_sequences_are_indexed_within_their_length() {
    let (t, replies) = typezoo_replies(&[
        "output numbers[0]",
        "output numbers[4]",
        "output numbers[5]",
        "output numbers[-1]",
        "output queue[0]",
        "output queue[2]",
        "output queue[3]",
        "output/c text[1]",
        "output/c greeting[4]",
        "whatis numbers[1]",
        "output numbers[1] + numbers[2]",
    ]);
    assert_eq!(
        replies,
        [
            "1",
            "8",
            "index 5 is out of bounds: the len is 5\n",
            "index -1 is out of bounds: the len is 5\n",
            "10",
            "30",
            "index 3 is out of bounds: the len is 3\n",
            "111 'o'",
            "111 'o'",
            "type = u32\n",
            "5",
        ],
        "{t}"
    );
}

/// A Rust string compared with a string literal, which gdb refuses ("Structure has no component
/// named operator=="): equal when the bytes are. From typezoo's source: `greeting = "hello"`,
/// `text = String::from("zoo")`, `tuple.1 = "seven"`.
#[test]
fn rust_strings_compare_with_string_literals() {
    let (t, replies) = typezoo_replies(&[
        "output greeting == \"hello\"",
        "output \"hello\" == greeting",
        "output greeting == \"hell\"",
        "output text == \"zoo\"",
        "output text != \"zoo\"",
        "output tuple.1 == \"seven\"",
        "output byte == \"x\"",
    ]);
    assert_eq!(
        replies,
        [
            "true",
            "true",
            "false",
            "true",
            "false",
            "true",
            "A string can only be compared with a string (&str, String, char *).\n",
        ],
        "{t}"
    );
}

/// The transcript of `commands` run in typezoo's `explode` frame, and each one's reply.
fn typezoo_replies(commands: &[&str]) -> (String, Vec<String>) {
    let d = common::rewritten_dump(Fixture::TypeZoo, Profile::Debug, &[]);
    let mut all = vec!["frame function typezoo::explode"];
    all.extend_from_slice(commands);
    let t = common::transcript(&d.original, &d.dump, &all);
    let replies = t
        .split("(wasmgdb) ")
        .skip(2)
        .map(|r| {
            r.split_once('\n')
                .map_or("", |(_, reply)| reply)
                .to_string()
        })
        .collect();
    (t, replies)
}
