//! The crash reason `debuginfo` recovers from a dump against what the program itself printed:
//! each fixture runs rewritten under Node, where Rust's panic handler writes `panicked at
//! FILE:LINE:COL:` and the message to stderr (std is the oracle); the dump of the same run must
//! give the same location and message. Fixtures that abort without a panic give none.

use coredump::{CoreDump, TrapKind};
use debuginfo::{DebugInfo, Module};
use wasm_coredump_tests::{Fixture, NodeCommand, Profile, fixture};

/// Whether `text` is `pattern` with each `{..}` standing for any text.
fn matches_partial(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split("{..}");
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        match last {
            true => return rest.ends_with(part),
            false => match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            },
        }
    }
    rest.is_empty()
}

#[test]
fn panics_are_recovered_from_the_dump_as_std_printed_them() {
    let cases: &[(Fixture, &[&str], bool)] = &[
        // (fixture, its arguments, whether it panics)
        (Fixture::MyThing, &[], true),
        (Fixture::UnwrapNone, &[], true),
        (Fixture::IndexOob, &[], true),
        (Fixture::DivZero, &[], true),
        (Fixture::DeepRecursion, &[], true),
        (Fixture::SerdeRegex, &[], true),
        (Fixture::SerdeRegex, &["index"], true),
        (Fixture::LldBuildId, &[], true),
        (Fixture::Panics, &["expect"], true),
        (Fixture::Panics, &["literal"], true),
        (Fixture::Panics, &[], true),
        (Fixture::Panics, &["assert-eq"], true),
        (Fixture::Panics, &["float"], true),
        (Fixture::Panics, &["char-bool"], true),
        (Fixture::Panics, &["string"], true),
        (Fixture::Abort, &["unreachable"], true),
        (Fixture::Abort, &[], false),
        (Fixture::OutOfMemory, &[], false),
        (Fixture::DivZero, &["wrapping"], false),
    ];
    for &(kind, args, panics) in cases {
        for profile in Profile::ALL {
            let what = format!("{kind} {args:?} {profile}");
            let input = std::fs::read(fixture(kind, profile)).unwrap();
            let out = rewriter::rewrite(&input, &rewriter::Options::default()).unwrap();
            let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("crash-reason");
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(format!("{kind}-{}-{profile}.wasm", args.join("-")));
            std::fs::write(&path, &out.module).unwrap();
            let run = NodeCommand::new(&path).args(args).run();
            assert!(run.trapped(), "{what}: {}", run.stderr);
            let core = run.core.as_deref().unwrap();
            let dump = CoreDump::parse(core).unwrap();
            let info = DebugInfo::new(Module::parse(input).unwrap()).unwrap();
            let reason = info.crash_reason(&dump);
            // Only serde_json's error (a `Debug` of a struct) is past what is formatted.
            let partial = kind == Fixture::SerdeRegex;

            let expected_trap = match args {
                ["wrapping"] => TrapKind::IntegerDivideByZero,
                _ => TrapKind::Unreachable,
            };
            assert_eq!(reason.trap, Some(expected_trap), "{what}");
            assert_eq!(reason.panic.is_some(), panics, "{what}: {reason:?}");
            // A failed allocation: std printed its line, which the dump gives too.
            let oom = reason.out_of_memory.as_ref().map(ToString::to_string);
            let printed_oom = run
                .stderr
                .lines()
                .find(|l| l.starts_with("memory allocation of "));
            assert_eq!(oom.as_deref(), printed_oom, "{what}");
            assert_eq!(oom.is_some(), kind == Fixture::OutOfMemory, "{what}");
            let Some(panic) = reason.panic else {
                continue;
            };
            let printed = run.panic_location().expect("std printed the location");
            let location = panic
                .location
                .as_ref()
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(location.to_string(), printed, "{what}");
            let message = panic
                .message
                .as_ref()
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let printed = run.panic_text().expect("std printed the message");
            assert_eq!(message.complete, !partial, "{what}: {message:?}");
            if message.complete {
                assert_eq!(message.text, printed, "{what}");
            } else {
                assert!(message.text.contains("{..}"), "{what}: {message:?}");
                assert!(
                    matches_partial(&message.text, &printed),
                    "{what}: {message:?} vs {printed:?}"
                );
            }
        }
    }
}

#[test]
fn partial_patterns() {
    assert!(matches_partial("a {..} b", "a xyz b"));
    assert!(matches_partial("{..}", "anything"));
    assert!(!matches_partial("a {..} b", "a xyz c"));
    assert!(matches_partial("exact", "exact"));
    assert!(!matches_partial("exact", "exactly"));
}

/// A failed C `assert`, built with Debian's clang and wasi-libc (`wasm_coredump_tests::build_c`):
/// the dump gives the line wasi-libc printed, with the expression and line of the source.
#[test]
fn a_failed_c_assert_is_recovered_as_wasi_libc_printed_it() {
    let source = wasm_coredump_tests::workspace_root().join("tests/c/assert.c");
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("crash-reason");
    std::fs::create_dir_all(&dir).unwrap();
    let built = dir.join("assert.wasm");
    wasm_coredump_tests::build_c(&source, &built, &["-g", "-O0"]);
    let input = std::fs::read(&built).unwrap();
    let out = rewriter::rewrite(&input, &rewriter::Options::default()).unwrap();
    let rewritten = dir.join("assert.rewritten.wasm");
    std::fs::write(&rewritten, &out.module).unwrap();
    let run = NodeCommand::new(&rewritten).run();
    assert!(run.trapped(), "{}", run.stderr);
    let dump = CoreDump::parse(run.core.as_deref().unwrap()).unwrap();
    let info = DebugInfo::new(Module::parse(input).unwrap()).unwrap();
    let reason = info.crash_reason(&dump);
    assert_eq!(reason.trap, Some(TrapKind::Unreachable));
    assert!(reason.panic.is_none());
    let assertion = reason.assertion.expect("the assert is recovered");
    let printed = run
        .stderr
        .lines()
        .find(|l| l.starts_with("Assertion failed: "))
        .expect("wasi-libc printed the assertion");
    assert_eq!(assertion.to_string(), printed);
    let text = std::fs::read_to_string(&source).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("assert(count"))
        .unwrap()
        + 1;
    assert_eq!(assertion.line as usize, line);
    assert_eq!(
        assertion.expression.as_deref(),
        Ok("count > 0 && \"the count must be positive\"")
    );
    assert_eq!(assertion.function.as_deref(), Ok("check"));
}
