//! The standing hostile-input suite (`wasm_coredump_tests::hostile`) on wasmgdb: hostile files as
//! the module and as the dump, mutated dumps, and hostile commands.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use wasm_coredump_tests::{Fixture, Profile, hostile};

fn wasmgdb(module: &Path, dump: &Path, commands: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wasmgdb"));
    command.arg("--batch");
    for c in commands {
        command.arg("-ex").arg(c);
    }
    command.arg(module).arg(dump);
    command
}

fn scratch(name: &str) -> PathBuf {
    common::tmp_dir().join(name)
}

#[test]
fn hostile_modules_and_dumps_are_refused_in_one_line() {
    let dump = common::rewritten_dump(Fixture::MyThing, Profile::Release, &[]);
    let module = std::fs::read(&dump.original).unwrap();
    hostile::feed_inputs(&scratch("hostile-modules"), &module, |input, _| {
        wasmgdb(input, &dump.dump, &["bt"])
    });
    let core = std::fs::read(&dump.dump).unwrap();
    hostile::feed_inputs(&scratch("hostile-dumps"), &core, |input, _| {
        wasmgdb(&dump.original, input, &["bt"])
    });
}

#[test]
fn mutated_dumps_are_read_or_refused_in_one_line() {
    let dump = common::rewritten_dump(Fixture::MyThing, Profile::Release, &[]);
    let core = std::fs::read(&dump.dump).unwrap();
    let dir = scratch("mutated-dumps");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("mutated.core");
    // Byte positions and values from a xorshift generator: the non-zero part of the dump
    // (sections, frames) is where a mutation says the most, so half of them land in its
    // first 64 KiB.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..200 {
        let mut bytes = core.clone();
        for _ in 0..1 + round % 4 {
            let span = if next() % 2 == 0 {
                65536.min(bytes.len())
            } else {
                bytes.len()
            };
            let at = (next() % span as u64) as usize;
            bytes[at] = next() as u8;
        }
        std::fs::write(&path, &bytes).unwrap();
        let what = format!("mutation round {round}");
        let out = hostile::run(&mut wasmgdb(&dump.original, &path, &["bt", "info locals"]));
        hostile::assert_refused_or_ok(&out, true, &what);
    }
}

#[test]
fn hostile_commands_are_one_line_errors_and_the_session_goes_on() {
    let dump = common::rewritten_dump(Fixture::MyThing, Profile::Release, &[]);
    let deep_minus = format!("print {}1", "-".repeat(10_000));
    let deep_deref = format!("print {}1", "*&".repeat(5_000));
    let deep_not = format!("print {}1", "!~".repeat(5_000));
    let long_sum = format!("print 1{}", "+1".repeat(50_000));
    let long_line = format!("print {}", "x".repeat(1 << 20));
    let commands = [
        deep_minus.as_str(),
        &deep_deref,
        &deep_not,
        &long_sum,
        &long_line,
        "print *(char*)0x100000000",
        "print 99999999999999999999999",
        "info line *0xffffffff",
        "disassemble 0xffffffff",
        "frame 4294967296",
        "frame -1",
        "x/-5xb 0",
        "x/4294967295xg 0xfffffff0",
        "print $nothing",
        "print (",
        "print \"unterminated",
        "list 99999999",
        "no-such-command",
        "print \u{0}\u{1b}[31m",
    ];
    let module = dump.original.to_str().unwrap();
    let core = dump.dump.to_str().unwrap();
    for command in commands {
        // Through stdin, as typed at the prompt: one bad line must not end the session.
        let what: String = command.chars().take(40).collect();
        let out = common::wasmgdb(&[module, core], &format!("{command}\nbt 1\n"));
        hostile::assert_refused_or_ok(&out, true, &what);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("#0"),
            "{what}: the session goes on to the next command"
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        // (A note on the dump's build_id, then the error.)
        assert!(
            stderr.lines().count() <= 3 && stderr.lines().all(|l| l.len() <= 400),
            "{what}: one error line: {}",
            stderr.chars().take(1000).collect::<String>()
        );
    }
}
