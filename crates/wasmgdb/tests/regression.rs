//! Regression tests, each named after what it caught (issue #15: input that crashed, hung or
//! misled wasmgdb).

mod common;

use common::{text, transcript, wasmgdb};
use coredump::{CoreDump, Frame, Thread};
use debuginfo::{DebugInfo, Module};
use wasm_coredump_tests::{Fixture, Profile, fixture, wasmtime_dump};
use wasmgdb::{LoadOptions, Outcome, Session};

/// The MyThing debug build and its Wasmtime dump (no Node run needed), as argument strings.
fn mything() -> (String, String) {
    let module = fixture(Fixture::MyThing, Profile::Debug);
    let dump = wasmtime_dump(Fixture::MyThing);
    let path = |p: &std::path::Path| p.to_str().unwrap().to_string();
    (path(&module), path(&dump))
}

/// Deeply nested expressions overflowed the parser's stack and aborted the process ("has
/// overflowed its stack"): they are refused with one error line. Run on a test thread (a 2 MiB
/// stack), the deepest expressions that are accepted are evaluated and printed too.
#[test]
fn deep_expressions_are_an_error_not_a_stack_overflow() {
    let (m, d) = mything();
    let refused = [
        format!("print {}1", "-".repeat(10_000)),
        format!("print {}1", "*&".repeat(5_000)),
        format!("print {}1", "!~".repeat(5_000)),
        format!("print 1{}", "+1".repeat(49_999)),
        format!("print {}1{}", "(".repeat(5_000), ")".repeat(5_000)),
        format!("print {}1", "-".repeat(129)),
        format!("print 1{}", "+1".repeat(129)),
        format!("print $1{}", ".a".repeat(200)),
        format!("print $1{}", "[0]".repeat(200)),
        format!("print (int {})0", "*".repeat(200)),
        format!("ptype {}1", "-".repeat(10_000)),
        format!("x/x {}1", "-".repeat(10_000)),
    ];
    let accepted = [
        format!("print {}1", "-".repeat(127)),
        format!("print 1{}", "+1".repeat(128)),
        format!("print {}1{}", "(".repeat(120), ")".repeat(120)),
        format!("print {}*(char *)0x10", "*&".repeat(62)),
        format!("print sizeof(int {})", "*".repeat(100)),
    ];
    let commands: Vec<&str> = refused
        .iter()
        .chain(&accepted)
        .map(String::as_str)
        .collect();
    let t = transcript(m.as_ref(), d.as_ref(), &commands);
    let replies: Vec<&str> = t
        .split("(wasmgdb) ")
        .skip(1)
        .map(|r| r.split_once('\n').unwrap().1)
        .collect();
    assert_eq!(replies.len(), commands.len(), "{t}");
    for (command, reply) in commands.iter().zip(&replies[..refused.len()]) {
        assert!(
            *reply == "Expression too complex (nested more than 128 levels deep).\n"
                || *reply == "Expression too long (more than 16384 tokens).\n",
            "{}: {reply}",
            &command[..40]
        );
    }
    let values = &replies[refused.len()..];
    assert_eq!(values[0], "$1 = -1\n");
    assert_eq!(values[1], "$2 = 129\n");
    assert_eq!(values[2], "$3 = 1\n");
    assert!(values[3].starts_with("$4 = "), "{}", values[3]);
    assert_eq!(values[4], "$5 = 4\n");
}

/// One bad line ended the session (the process aborted): on stdin, as in the REPL, the next
/// line still runs.
#[test]
fn a_deep_expression_does_not_end_the_session() {
    let (m, d) = mything();
    let input = format!("print {}1\nprint 1+2\n", "-".repeat(10_000));
    let out = wasmgdb(&["-q", &m, &d], &input);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).ends_with("$1 = 3\n"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        text(&out.stderr),
        "Expression too complex (nested more than 128 levels deep).\n"
    );
}

/// `x/100000000s 0` held every line in memory (3.3 GB for a 4 MiB dump) and then printed only
/// the error: the lines come as memory is read, and a count that runs past the end of memory
/// stops there, with gdb's error after them.
#[test]
fn examine_past_the_end_of_memory_stops_there() {
    let (m, d) = mything();
    let dump = CoreDump::parse(&std::fs::read(&d).unwrap())
        .unwrap()
        .memories()[0]
        .ty
        .size();
    let end = format!("Cannot access memory at address {dump:#x}\n");
    let strings = format!("x/100000000s {:#x}", dump - 2);
    let words = format!("x/100000000xw {:#x}", dump - 24);
    let out = wasmgdb(
        &[
            "-batch",
            "-q",
            "-ex",
            &strings,
            "-ex",
            "x/100000000xg 0",
            &m,
            &d,
        ],
        "",
    );
    let stdout = text(&out.stdout);
    // The strings up to the end, then where memory ends, as gdb shows what it cannot read.
    let strings_output = format!(
        "{:#x}:\t\"\"\n{:#x}:\t\"\"\n{dump:#x}:\t<error: {}>\n",
        dump - 2,
        dump - 1,
        end.trim_end()
    );
    assert!(stdout.contains(&strings_output), "{stdout}");
    // Every 8-byte unit of memory, two a line.
    let lines = stdout.lines().filter(|l| l.contains(":\t0x")).count();
    assert_eq!(lines as u64, dump / 16, "{}", &stdout[..200]);
    // The line of the unit that could not be read starts, and the error ends it (on stderr,
    // as gdb's), `0x100000:\tCannot access memory at address 0x100000`.
    let mut lines = stdout.lines().rev();
    assert_eq!(lines.next(), Some(format!("{dump:#x}:\t").as_str()));
    let last = lines.next().unwrap();
    assert!(last.starts_with(&format!("{:#x}:\t", dump - 16)), "{last}");
    assert_eq!(text(&out.stderr), end);
    assert_eq!(out.status.code(), Some(1));

    // A line cut by the end of memory, and the same in JSON: one object, the error in it.
    let out = wasmgdb(&["-batch", "-q", "-ex", &words, &m, &d], "");
    let stdout = text(&out.stdout);
    let first = format!(
        "{:#x}:\t0x00000000\t0x00000000\t0x00000000\t0x00000000\n",
        dump - 24
    );
    assert!(stdout.ends_with(&format!(
        "{first}{:#x}:\t0x00000000\t0x00000000\t",
        dump - 8
    )));
    assert_eq!(text(&out.stderr), end);
    let out = wasmgdb(&["-batch", "--json", "-ex", &words, &m, &d], "");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["memory"].as_array().unwrap().len(), 6);
    assert_eq!(json["error"], end.trim_end());
}

/// `disassemble` failed on every module with a DataCount section ("data count is non-zero but
/// data section is absent"): the module it reduces to the one function kept DataCount and left
/// Data out. It keeps only what names a body's operands now.
#[test]
fn disassemble_a_module_with_a_data_count_section() {
    let wasm = wat::parse_str(
        r#"(module (memory 1) (data "hi")
             (func $copy i32.const 0 i32.const 0 i32.const 2 memory.init 0 unreachable))"#,
    )
    .unwrap();
    let data_count = wasmparser::Parser::new(0)
        .parse_all(&wasm)
        .any(|p| matches!(p, Ok(wasmparser::Payload::DataCountSection { .. })));
    assert!(data_count, "memory.init needs a DataCount section");
    // The body: no locals (1 byte), three `i32.const` (2 bytes each), `memory.init 0` (4).
    let unreachable = 11;
    let mut dump = CoreDump::new("app.wasm");
    dump.add_thread(Thread {
        name: "main".into(),
        frames: vec![Frame {
            instance: 0,
            func: 0,
            code_offset: unreachable,
            locals: vec![],
            stack: vec![],
        }],
    });
    let info = DebugInfo::new(Module::parse(wasm).unwrap()).unwrap();
    let mut session =
        Session::new("app.wasm".as_ref(), dump, info, &LoadOptions::default()).unwrap();
    let Outcome::Reply(reply) = session.run_line("disassemble").unwrap() else {
        panic!("disassemble quits")
    };
    let text = reply.text;
    assert!(
        text.starts_with("Dump of assembler code for function copy (func[0]):\n"),
        "{text}"
    );
    assert!(text.contains("\tmemory.init 0\n"), "{text}");
    let current = text.lines().find(|l| l.starts_with("=> ")).unwrap();
    assert!(
        current.ends_with(&format!("<+{unreachable}>:\tunreachable")),
        "{current}"
    );
}

/// Values that were silently wrong are gdb's errors: an address past 32 bits was cut to 32
/// (`$1 = 0`), a literal past 64 bits wrapped, and `info line *ADDR` and `disassemble ADDR`
/// ignored their address and showed the selected frame.
#[test]
fn out_of_range_addresses_and_literals_are_errors_not_wrong_values() {
    let (m, d) = mything();
    let t = transcript(m.as_ref(), d.as_ref(), &["bt 1"]);
    let pc = t.split("#0  ").nth(1).unwrap().split(' ').next().unwrap();
    let commands = [
        "print *(char*)0x100000000",
        "x/x 0x100000000",
        "print 99999999999999999999999",
        "print 0xffffffffffffffff",
        "info line *0xffffffff",
        "disassemble 0xffffffff",
        "info line",
        &format!("info line *{pc}"),
        "disassemble",
        &format!("disassemble {pc}"),
    ];
    let t = transcript(m.as_ref(), d.as_ref(), &commands);
    let replies: Vec<&str> = t.split("(wasmgdb) ").skip(1).collect();
    let reply = |i: usize| replies[i].split_once('\n').unwrap().1;
    assert_eq!(reply(0), "Cannot access memory at address 0x100000000\n");
    assert_eq!(reply(1), reply(0));
    assert_eq!(reply(2), "Numeric constant too large.\n");
    assert_eq!(reply(3), "$1 = 18446744073709551615\n");
    assert_eq!(
        reply(4),
        "No line number information available for address 0xffffffff\n"
    );
    assert_eq!(reply(5), "No function contains specified address.\n");
    // The frame's pc gives what the frame gives.
    assert!(reply(6).starts_with("Line "), "{}", reply(6));
    assert_eq!(reply(7), reply(6));
    assert!(reply(8).contains("\n=> "), "{}", reply(8));
    assert_eq!(reply(9), reply(8));
}

/// A FIFO with no writer given as the module or the dump blocked wasmgdb for ever, and
/// `/dev/zero` was read without end: what is not a regular file is refused with one line.
#[test]
fn special_files_are_refused_not_read_for_ever() {
    let (m, d) = mything();
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let fifo = fifo.to_str().unwrap();
    for special in [fifo, "/dev/zero"] {
        for (module, dump) in [(special, d.as_str()), (m.as_str(), special)] {
            // common::wasmgdb fails the test if the run outlasts its timeout.
            let out = wasmgdb(&["--batch", "-ex", "bt", module, dump], "");
            assert_eq!(out.status.code(), Some(1));
            assert_eq!(
                text(&out.stderr),
                format!("error: cannot read {special}: not a regular file\n")
            );
        }
    }
}

/// Found by fuzzing (fuzz/fuzz_targets/wasmgdb.rs): a unique prefix of an alias (`ex` of `exit`,
/// `whe` of `where`, `ins` of `inspect`) panicked ("every command name is handled"): it is the
/// command the alias stands for; a prefix of several is ambiguous, as in gdb.
#[test]
fn a_prefix_of_an_alias_is_its_command_not_a_panic() {
    use wasmgdb::command::parse;
    assert_eq!(parse("ex").unwrap(), parse("quit").unwrap());
    assert_eq!(parse("exi").unwrap(), parse("quit").unwrap());
    assert_eq!(
        parse("e").unwrap_err().to_string(),
        "Ambiguous command \"e\": echo, exit."
    );
    assert_eq!(parse("whe -2").unwrap(), parse("backtrace -2").unwrap());
    assert_eq!(parse("ins/x 1").unwrap(), parse("print/x 1").unwrap());
}

/// Found by fuzzing (fuzz/fuzz_targets/wasmgdb.rs): `list 0,N` read line 0 of the file, an
/// overflow (a panic in debug builds): lines count from 1, as `list 1,N`.
#[test]
fn a_list_range_from_line_0_starts_at_line_1_not_a_panic() {
    let (m, d) = mything();
    // `list FUNCTION` first: the file the ranges are in.
    let t = transcript(
        m.as_ref(),
        d.as_ref(),
        &["list mything::calculate", "list 0,2", "list 1,2"],
    );
    let (zero, one) = t
        .split_once("(wasmgdb) list 1,2\n")
        .map(|(before, after)| (before.split("(wasmgdb) list 0,2\n").nth(1).unwrap(), after))
        .unwrap();
    assert_eq!(zero, one, "{t}");
    assert!(one.starts_with("1\t") && one.contains("\n2\t"), "{t}");
}
