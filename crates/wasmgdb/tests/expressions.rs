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
