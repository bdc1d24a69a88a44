//! The `wasmgdb` binary: batch mode, `--json`, commands on stdin, exit statuses, and one clear
//! `error:` line for bad input.

mod common;

use common::{text, wasmgdb};
use wasm_coredump_tests::{Fixture, Profile, fixture, wasmtime_dump};

/// The MyThing debug dump: the module's path, the dump's path, and the
/// `frame N` command that selects `process_thing`.
fn mything_dump() -> (String, String, String) {
    let d = common::rewritten_dump(Fixture::MyThing, Profile::Debug, &[]);
    let level = common::level_of(&d.original, &d.dump, "mything::process_thing");
    let path = |p: &std::path::Path| p.to_str().unwrap().to_string();
    (path(&d.original), path(&d.dump), format!("frame {level}"))
}

#[test]
fn batch_mode_runs_ex_commands_in_order() {
    let (m, c, frame) = mything_dump();
    let (m, c) = (m.as_str(), c.as_str());
    let out = wasmgdb(
        &[
            "--batch",
            "-ex",
            "bt 1",
            "-ex",
            &frame,
            "-ex",
            "print *thing",
            m,
            c,
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    // As gdb opens a core: why the program ended first. A Rust panic aborts, and wasi-libc's
    // abort() is an `unreachable`; then the panic as std reports it (its message for `usize`
    // subtraction overflow, at the subtraction in the source).
    // The frame of the panic is `calculate`'s, which `process_thing` calls.
    let at = Fixture::MyThing.source_location("value - 10", "value");
    let process_thing: usize = frame.strip_prefix("frame ").unwrap().parse().unwrap();
    let opening = format!(
        "Program terminated with wasm trap: unreachable.\n\
         panicked at {at}: attempt to subtract with overflow\n\
         (frame {} is where the panic happened: it is selected)\n#0  ",
        process_thing - 1
    );
    assert!(stdout.starts_with(&opening), "{stdout}");
    // gdb says "(More stack frames follow...)" only to a terminal (gdb 13 `-batch -ex 'bt 1'`).
    assert!(!stdout.contains("(More stack frames follow"), "{stdout}");
    assert!(
        stdout.contains("in mything::process_thing (thing=0x"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("$1 = mything::MyThing {value: 3}\n"),
        "{stdout}"
    );
    // `frame` alone shows the selected frame: the panic's, past the panic machinery.
    let out = wasmgdb(&["-batch", "-ex", "frame", m, c], "");
    let selected = format!("#{} ", process_thing - 1);
    let shown = text(&out.stdout);
    let shown = shown
        .lines()
        .find(|l| l.starts_with('#'))
        .unwrap_or_default();
    assert!(shown.starts_with(&selected), "{shown}");
    assert!(
        shown.contains(" in mything::calculate (value=3) at "),
        "{shown}"
    );
    // The last command failing makes the exit status 1, as in gdb.
    let out = wasmgdb(&["-batch", "-ex", "frame 999", m, c], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("No frame at level 999.\n"));
}

#[test]
fn json_output_is_one_object_per_command() {
    let (m, c, frame) = mything_dump();
    let (m, c) = (m.as_str(), c.as_str());
    let out = wasmgdb(
        &[
            "--batch",
            "--json",
            "-q",
            "-ex",
            "bt",
            "-ex",
            &frame,
            "-ex",
            "info args",
            "-ex",
            "print thing->value",
            "-ex",
            "nope",
            m,
            c,
        ],
        "",
    );
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    let frames = lines[0]["frames"].as_array().unwrap();
    let calc = frames
        .iter()
        .find(|f| f["function"] == "mything::calculate")
        .unwrap();
    assert_eq!(calc["args"][0]["name"], "value");
    assert_eq!(calc["args"][0]["value"], "3");
    assert_eq!(calc["line"], 16);
    assert_eq!(lines[1]["frame"]["function"], "mything::process_thing");
    assert_eq!(lines[2]["variables"][0]["name"], "thing");
    assert_eq!(lines[2]["variables"][0]["type"], "*mut mything::MyThing");
    assert_eq!(lines[3]["value"], "3");
    assert_eq!(lines[3]["history"], 1);
    assert_eq!(
        lines[4]["error"],
        "Undefined command: \"nope\".  Try \"help\"."
    );
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

#[test]
fn commands_are_read_from_a_non_terminal_stdin() {
    let module = fixture(Fixture::MyThing, Profile::Debug);
    let dump = wasmtime_dump(Fixture::MyThing);
    let out = wasmgdb(
        &[module.to_str().unwrap(), dump.to_str().unwrap()],
        "bt 1\nquit\nbt\n",
    );
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with('#')).count(),
        1,
        "{stdout}"
    );
    assert!(text(&out.stderr).contains("values of parameters and locals are unavailable"));
    // An empty line repeats the previous command, as in gdb.
    let out = wasmgdb(
        &[module.to_str().unwrap(), dump.to_str().unwrap()],
        "bt 1\n\n",
    );
    let stdout = text(&out.stdout);
    assert_eq!(stdout.matches("#0  ").count(), 2, "{stdout}");
}

/// Bad input is one `error:` line that says which file and why, and exit status 1, whichever
/// way the file is bad and whether it is given as the module or as the dump. Load errors ran
/// to 3 and more lines and repeated their causes (`caused by: ...`).
#[test]
fn bad_input_is_one_error_line_and_status_1() {
    let dir = common::tmp_dir();
    let module = fixture(Fixture::MyThing, Profile::Debug);
    let dump = wasmtime_dump(Fixture::MyThing);
    let module_bytes = std::fs::read(&module).unwrap();
    let dump_bytes = std::fs::read(&dump).unwrap();
    // Bytes no file starts with, the same on every run (xorshift).
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    let random: Vec<u8> = (0..300)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let bad: [(&str, &[u8]); 6] = [
        ("empty", b""),
        ("random", &random),
        ("truncated-module", &module_bytes[..module_bytes.len() / 2]),
        ("truncated-dump", &dump_bytes[..dump_bytes.len() / 2]),
        ("bad-magic", b"hello, world"),
        ("bad-version", b"\0asm\x02\0\0\0"),
    ];
    let (m, d) = (module.to_str().unwrap(), dump.to_str().unwrap());
    let bad_path = |name: &str| {
        let path = dir.join(format!("bad-{name}.bin"));
        path.to_str().unwrap().to_string()
    };
    for (name, bytes) in bad {
        let path = bad_path(name);
        std::fs::write(&path, bytes).unwrap();
        for (module, dump) in [(path.as_str(), d), (m, path.as_str())] {
            let out = wasmgdb(&["--batch", "-ex", "bt", module, dump], "");
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{module} {dump}: {stderr}");
            assert_eq!(stderr.lines().count(), 1, "{module} {dump}: {stderr}");
            assert!(stderr.starts_with("error: "), "{stderr}");
            assert!(stderr.contains(&path), "{stderr}");
        }
    }
    // What the line says, for some of them.
    let says = |module: &str, dump: &str| text(&wasmgdb(&["--batch", module, dump], "").stderr);
    assert!(says(m, &bad_path("bad-magic")).contains(": not a Wasm core dump: "));
    let truncated = bad_path("truncated-dump");
    assert!(
        says(m, &truncated).starts_with(&format!("error: cannot read the core dump {truncated}: "))
    );
    let bad_magic = bad_path("bad-magic");
    assert!(says(&bad_magic, d).starts_with(&format!("error: cannot load {bad_magic}: ")));
    assert_eq!(
        says(m, m),
        format!(
            "error: cannot read the core dump {m}: unexpected Type section at offset 0xa: \
             core dumps hold no such section\n"
        )
    );
    assert!(says(m, "/nonexistent/core").starts_with("error: cannot read /nonexistent/core: "));
    assert_eq!(
        says("/nonexistent/m.wasm", d),
        "error: /nonexistent/m.wasm: no such file\n"
    );
}

#[test]
fn help_is_pinned() {
    let out = wasmgdb(&["--help"], "");
    assert!(out.status.success());
    snapshot!("help", text(&out.stdout));
}
