//! wasmgdb against gdb itself (issue #16): the same commands on the same program stopped at the
//! same panic must print the same values.
//!
//! The program is the typezoo fixture (tests/fixtures/typezoo/src/main.rs): integers of every
//! width, floats, `char`, strings, collections, `Rc<RefCell<_>>`, boxes, trait objects, a generic
//! function and closures, live in its frames when `containers`, which `explode` calls with the
//! std types rust-gdb has a pretty printer for, panics. gdb's side is a committed
//! transcript, [`TRANSCRIPT`], of gdb (`rust-gdb`: gdb with the toolchain's Rust pretty printers)
//! stopped at `rust_panic` in the fixture's native debug build; `GDB_REFRESH=1 cargo test -p
//! wasmgdb --test gdb_diff` builds that and records it again, and only then is gdb needed, so
//! the test depends on neither gdb nor its version. wasmgdb's side runs the same [`COMMANDS`] on
//! a dump of the fixture's Wasm debug build.
//!
//! Both sides are compared command by command after [`normalize`] took out what legitimately
//! differs: addresses, pointer-width sizes, frame levels and pcs, history numbers, the frames of
//! the runtimes below `main` and above the panic. The commands on which wasmgdb disagrees today
//! are listed in [`KNOWN_DIFFERENCES`] with the issue #16 item that says why; each must still
//! differ, so that a fix that makes one agree also takes it off the list.

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use regex::Regex;
use wasm_coredump_tests::{Fixture, Profile, fixtures_target_dir, output_within, workspace_root};

/// Commands on which wasmgdb differs from gdb today, by [`key`], each with the issue #16 item that
/// explains it ("new:" a difference the issue does not list yet). The test fails when one of them
/// agrees: then its entry must go.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[(
    "explode: p/r numbers",
    "gdb 13's /r also prints the integers in hex and a space before a tuple struct's \
         fields (`UsizeNoHighBit (0x5)`); wasmgdb prints them as print does",
)];

/// The commands, in order. `frame function NAME` selects the innermost frame of the function NAME
/// (gdb's name may add generic arguments, `NAME<...>`) and prints it as `frame N` does; the
/// commands after it run in that frame.
const COMMANDS: &[&str] = &[
    "bt",
    // `explode`: parameters of collections, shared and boxed values, trait objects and a
    // closure; locals of every scalar type, a string slice, an array, a tuple, a struct and
    // enums.
    "frame function typezoo::explode",
    "info line",
    "list",
    "info args",
    "info locals",
    "print sum",
    "print text",
    "print numbers",
    "print queue",
    "print ages",
    "print shared",
    "print boxed",
    "print *boxed",
    "print shape",
    "print *shape",
    "print boxed_shape",
    "print *boxed_shape",
    "print shift",
    "print tiny",
    "print byte",
    "print short",
    "print ushort",
    "print int",
    "print uint",
    "print long",
    "print ulong",
    "print big",
    "print ubig",
    "print size",
    "print diff",
    "print ratio",
    "print e",
    "print flag",
    "print letter",
    "print greeting",
    "print pair",
    "print tuple",
    "print point",
    "print event",
    "print key",
    "print some",
    "print none",
    "print shifted",
    "print area",
    "print/x tiny",
    "print/x byte",
    "print/x uint",
    "print/x ulong",
    "print/x ubig",
    "print/x ratio",
    "print/x e",
    "print/x pair",
    "print/x point",
    "print/d letter",
    "print/c byte",
    "print/t byte",
    "print/o byte",
    "print/f uint",
    "whatis tiny",
    "whatis big",
    "whatis ratio",
    "whatis letter",
    "whatis greeting",
    "whatis pair",
    "whatis tuple",
    "whatis point",
    "whatis event",
    "whatis some",
    "whatis text",
    "whatis numbers",
    "whatis queue",
    "whatis ages",
    "whatis shared",
    "whatis boxed",
    "whatis shape",
    "whatis boxed_shape",
    "whatis shift",
    "ptype ubig",
    "ptype pair",
    "ptype tuple",
    "ptype point",
    "ptype event",
    "ptype some",
    "ptype text",
    "ptype shape",
    "ptype/o point",
    // Types whose layout is the same on x86_64 and wasm32 (no pointer in them), with gdb's
    // offsets, holes and padding: an enum's variants, in hex, a tuple and an array (no
    // offsets), a struct without fields; a pointer and a Box are `*mut T`.
    "ptype/o event",
    "ptype/o some",
    "ptype/xo point",
    "ptype/o tuple",
    "ptype/o pair",
    "ptype &point",
    "ptype boxed",
    "ptype alloc::alloc::Global",
    "ptype/o alloc::alloc::Global",
    // Expressions. Left out: 128-bit arithmetic and indexing a Vec, where gdb fails and issue #16
    // asks wasmgdb for what a Rust developer expects instead.
    "print point.x + point.y",
    "print pair[0] + pair[1]",
    "print tuple.0",
    "print tuple.1",
    "print tuple.2",
    "print numbers.len",
    "print size * 2",
    "print diff - 3",
    "print short / 7",
    "print int % 1000",
    "print long + 1",
    "print ulong - 1",
    "print ulong + 1",
    "print long - 1",
    "print 18446744073709551616",
    "print !byte",
    "print byte & 15",
    "print uint >> 4",
    "print byte as i8",
    "print &point",
    "print *&point",
    "x/2dw &pair",
    "output point",
    "print tiny < 0",
    "print byte == 200",
    "print flag && true",
    "print !flag",
    "print ratio * 2",
    "print e + 1",
    "print sum + 0.25",
    "print 0.1",
    "print 1.5 + 2",
    "print sizeof(point)",
    "print sizeof(pair)",
    "print sizeof(text)",
    "print sizeof(numbers)",
    // Print settings: one field a line, raw structs, fewer elements.
    "set print pretty on",
    "p point",
    "p tuple",
    "p event",
    "p pair",
    "p shape",
    "p/x point",
    "show print pretty",
    "set print pretty off",
    "p/r numbers",
    "p/r greeting",
    "set print elements 2",
    "p numbers",
    "p greeting",
    "show print elements",
    "set print elements 200",
    "p letter == 'é'",
    "p letter != 'e'",
    "p 'é'",
    "whatis 'a'",
    "print whatever_is_not_here",
    "ptype whatever_is_not_here",
    "up",
    "down",
    // The closure `generic_sum` calls, and `generic_sum::<f32, _>` itself.
    "frame function typezoo::main::{closure#1}",
    "info args",
    "frame function typezoo::generic_sum",
    "info args",
    "info locals",
    "print a",
    "print b",
    "print a + b",
    "print a < b",
    "whatis a",
    // `main`, whose values were moved into the closure: their bytes are still in its frame.
    "frame function typezoo::main",
    "info locals",
    "print offset",
    "print square",
    "print other",
    "print shift",
    "print *shape",
    // The std types `explode` passes on to `containers`, which panics.
    "frame function typezoo::containers",
    "info args",
    "info locals",
    "print tree",
    "print set",
    "print names",
    "print wrapped",
    "print empty",
    "print counted",
    "print cell",
    "print nonzero",
    "print path",
    "print os",
    "print borrowed",
    "print owned",
    "print boxed_str",
    "print other",
    "print weak",
    "print guarded",
    "print/x wrapped",
    "print/x tree",
    // std's types written out: a tuple struct, a struct of one field and its offsets, an enum
    // whose variants each hold a field, a struct of two.
    "ptype nonzero",
    "ptype/o nonzero",
    "ptype/o cell",
    "ptype borrowed",
    "ptype guarded",
];

/// Commands whose output is a size made of pointer-width words: gdb's (x86_64, 8 bytes) is twice
/// wasmgdb's (wasm32, 4 bytes).
const POINTER_SIZED: &[&str] = &["print sizeof(text)", "print sizeof(numbers)"];

/// gdb's transcript: [`COMMANDS`] and what gdb printed for each, under a header naming gdb, rustc
/// and the fixture source it was recorded from.
const TRANSCRIPT: &str = "tests/gdb/typezoo.txt";

/// The variable that makes the test record [`TRANSCRIPT`] again.
const REFRESH: &str = "GDB_REFRESH";

/// What every transcript line of a command starts with.
const PROMPT: &str = "(gdb) ";

/// What `frame function NAME` is spelled as.
const FRAME_FUNCTION: &str = "frame function ";

#[test]
fn wasmgdb_prints_what_gdb_prints() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(TRANSCRIPT);
    if std::env::var_os(REFRESH).is_some_and(|v| v != "0") {
        std::fs::write(&path, record_gdb()).unwrap();
    }
    let gdb = read_transcript(&path);
    let ours = run_wasmgdb();

    let mut report = String::new();
    let mut failures = 0;
    let mut agreeing = 0;
    let mut known_seen = Vec::new();
    let all = COMMANDS.iter().zip(&gdb).zip(&ours).zip(keys());
    for (((command, gdb_output), ours), key) in all {
        let theirs = normalize(command, gdb_output, Side::Gdb);
        let ours = normalize(command, ours, Side::Wasmgdb);
        let known = KNOWN_DIFFERENCES.iter().find(|(k, _)| *k == key);
        if known.is_some() {
            known_seen.push(key.clone());
        }
        match (theirs == ours, known) {
            (true, None) => agreeing += 1,
            (false, Some(_)) => {}
            (true, Some((_, reason))) => {
                failures += 1;
                let _ = writeln!(
                    report,
                    "`{key}` now agrees with gdb ({reason}): remove it from KNOWN_DIFFERENCES\n"
                );
            }
            (false, None) => {
                failures += 1;
                let _ = writeln!(
                    report,
                    "`{key}` differs from gdb (- gdb, + wasmgdb):\n{}",
                    diff(&theirs, &ours)
                );
            }
        }
    }
    for (key, _) in KNOWN_DIFFERENCES {
        if !known_seen.iter().any(|k| k == key) {
            failures += 1;
            let _ = writeln!(
                report,
                "KNOWN_DIFFERENCES names `{key}`, which no command is\n"
            );
        }
    }
    eprintln!(
        "{agreeing} commands agree with gdb, {} are known differences",
        known_seen.len()
    );
    assert!(
        failures == 0,
        "{failures} commands do not match the known state of wasmgdb against gdb:\n\n{report}"
    );
}

/// Which program printed an output.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Gdb,
    Wasmgdb,
}

/// Each command's name in [`KNOWN_DIFFERENCES`] and in messages: `FRAME: COMMAND`, FRAME being the
/// function the last `frame function` selected without its `typezoo::` (none before the first);
/// `frame function NAME` itself. Unique.
fn keys() -> Vec<String> {
    let mut frame = "";
    let keys: Vec<String> = COMMANDS
        .iter()
        .map(|command| {
            if let Some(name) = command.strip_prefix(FRAME_FUNCTION) {
                frame = name.strip_prefix("typezoo::").unwrap_or(name);
                command.to_string()
            } else if frame.is_empty() {
                command.to_string()
            } else {
                format!("{frame}: {command}")
            }
        })
        .collect();
    for (i, key) in keys.iter().enumerate() {
        assert!(!keys[..i].contains(key), "`{key}` twice in COMMANDS");
    }
    keys
}

/// What wasmgdb prints for each of [`COMMANDS`] on the dump of the fixture's Wasm debug build:
/// its reply, or its error as gdb prints one.
fn run_wasmgdb() -> Vec<String> {
    let d = common::rewritten_dump(Fixture::TypeZoo, Profile::Debug, &[]);
    let bytes = std::fs::read(&d.dump).unwrap();
    let mut session =
        wasmgdb::Session::load(&d.original, &bytes, &wasmgdb::LoadOptions::default()).unwrap();
    let functions: Vec<String> = (session.frames().iter())
        .map(|f| f.symbol.function.name.clone())
        .collect();
    COMMANDS
        .iter()
        .map(|command| {
            let line = match command.strip_prefix(FRAME_FUNCTION) {
                Some(name) => {
                    let level = functions.iter().position(|f| is_function(f, name));
                    match level {
                        Some(level) => format!("frame {level}"),
                        None => return format!("No frame of function {name}.\n"),
                    }
                }
                None => command.to_string(),
            };
            match session.run_line(&line) {
                Ok(wasmgdb::Outcome::Reply(r)) => r.text,
                Ok(wasmgdb::Outcome::Quit) => panic!("`{line}` quit"),
                Err(e) => format!("{e}\n"),
            }
        })
        .collect()
}

/// Whether `frame` (a frame's function, as gdb or wasmgdb names it) is the function `name`,
/// whose name it may follow with generic arguments.
fn is_function(frame: &str, name: &str) -> bool {
    frame
        .strip_prefix(name)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('<'))
}

/// Takes out of one command's output what legitimately differs between gdb on x86_64 and
/// wasmgdb on wasm32, so that what is left must be equal:
/// - `bt` keeps the program's own frames (`typezoo::...`): the runtimes' differ (std's panic
///   machinery and libc natively; wasi-libc and `_start` in Wasm);
/// - frame lines lose their level and pc (`#6  0x00005555555... in f (...)` -> `#N  f (...)`);
/// - addresses, and gdb's `<symbol>` after one, become `0x…` (except in `/x` output, whose
///   commands print no pointers);
/// - history numbers become `$N`: a command that fails on one side only shifts the other's;
/// - [`POINTER_SIZED`] sizes are halved on gdb's side;
/// - rustc's commit in paths and the workspace's root become `[COMMIT]` and `[ROOT]`;
/// - trailing blank space at the end goes.
fn normalize(command: &str, output: &str, side: Side) -> String {
    let mut text = output.trim_end().to_string();
    if command == "bt" {
        text = text
            .lines()
            .filter(|l| frame_function(l).is_some_and(|f| f.starts_with("typezoo::")))
            .collect::<Vec<_>>()
            .join("\n");
    }
    let frame_line = Regex::new(r"(?m)^#\d+ +(0x[0-9a-f]+ in )?").unwrap();
    text = frame_line.replace_all(&text, "#N  ").into_owned();
    if !command.contains("/x") {
        text = without_addresses(&text);
    }
    let history = Regex::new(r"\$\d+ = ").unwrap();
    text = history.replace_all(&text, "$$N = ").into_owned();
    if side == Side::Gdb && POINTER_SIZED.contains(&command) {
        let size = Regex::new(r"= (\d+)$").unwrap();
        text = size
            .replace(&text, |c: &regex::Captures<'_>| {
                format!("= {}", c[1].parse::<u64>().unwrap() / 2)
            })
            .into_owned();
    }
    let commit = Regex::new(r"/rustc/[0-9a-f]{40}").unwrap();
    text = commit.replace_all(&text, "/rustc/[COMMIT]").into_owned();
    text.replace(workspace_root().to_str().unwrap(), "[ROOT]")
}

/// The function a `bt` line is in (`#3  0x... in f (args) at file:line` or `#0  f (args) ...`).
fn frame_function(line: &str) -> Option<&str> {
    let rest = line.strip_prefix('#')?;
    let rest = rest
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .trim_start();
    let rest = match rest.split_once(" in ") {
        Some((pc, after)) if pc.starts_with("0x") => after,
        _ => rest,
    };
    Some(rest.split(" (").next().unwrap_or(rest))
}

/// `text` with each address (`0x` and hex digits) as `0x…`, and gdb's ` <symbol+offset>` after
/// one (which may hold `<`/`>` of generics) taken out.
fn without_addresses(text: &str) -> String {
    let address = Regex::new(r"0x[0-9a-f]+").unwrap();
    let mut out = String::new();
    let mut rest = text;
    while let Some(m) = address.find(rest) {
        out.push_str(&rest[..m.start()]);
        out.push_str("0x…");
        rest = &rest[m.end()..];
        if let Some(symbol) = rest.strip_prefix(" <") {
            let mut depth = 1;
            let end = symbol.char_indices().find_map(|(i, c)| {
                match c {
                    '<' => depth += 1,
                    '>' => depth -= 1,
                    '\n' => return Some(None),
                    _ => {}
                }
                (depth == 0).then_some(Some(i + 1))
            });
            if let Some(Some(end)) = end {
                rest = &symbol[end..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A line diff of `gdb` and `ours`: common lines indented, gdb's own with `-`, ours with `+`.
fn diff(gdb: &str, ours: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (gdb.lines().collect(), ours.lines().collect());
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            let _ = writeln!(out, "    {}", a[i]);
            (i, j) = (i + 1, j + 1);
        } else if j == b.len() || (i < a.len() && lcs[i + 1][j] >= lcs[i][j + 1]) {
            let _ = writeln!(out, "  - {}", a[i]);
            i += 1;
        } else {
            let _ = writeln!(out, "  + {}", b[j]);
            j += 1;
        }
    }
    out
}

/// The outputs of [`TRANSCRIPT`], one per command of [`COMMANDS`]. Fails, saying how to record it
/// again, when its commands or the fixture's source are not those it was recorded with.
fn read_transcript(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; record it with {REFRESH}=1",
            path.display()
        )
    });
    let refresh = format!("record it again: {REFRESH}=1 cargo test -p wasmgdb --test gdb_diff");
    assert!(
        text.contains(&source_line()),
        "{TRANSCRIPT} was recorded from another typezoo source: {refresh}"
    );
    let mut commands = Vec::new();
    let mut outputs: Vec<String> = Vec::new();
    for line in text.lines() {
        if let Some(command) = line.strip_prefix(PROMPT) {
            commands.push(command);
            outputs.push(String::new());
        } else if let Some(output) = outputs.last_mut() {
            output.push_str(line);
            output.push('\n');
        }
    }
    assert!(
        commands == COMMANDS,
        "{TRANSCRIPT} has other commands than COMMANDS: {refresh}"
    );
    outputs
}

/// The transcript's header line that names the fixture source it was recorded from, by its
/// FNV-1a hash.
fn source_line() -> String {
    let source = std::fs::read(Fixture::TypeZoo.source_file()).unwrap();
    let hash = source.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!(
        "# source: {} (FNV-1a {hash:016x})",
        Fixture::TypeZoo.source_path_in_build()
    )
}

/// What one `echo` before each command prints, followed by the command's index (`end` after the
/// last), so gdb's output can be cut into the commands' outputs.
const MARK: &str = "@@gdb-diff@@ ";

/// Defines `gdb_diff_select(NAME)`, gdb's `frame function NAME` for generic functions too: it
/// selects the innermost frame of NAME (or `NAME<...>`) and prints it as `frame` does.
const SELECT: &str = r#"python exec("def gdb_diff_select(name):\n    f = gdb.newest_frame()\n    while f is not None and f.name() != name and not (f.name() or '').startswith(name + '<'):\n        f = f.older()\n    if f is None:\n        raise gdb.GdbError('No frame of function ' + name + '.')\n    f.select()\n    gdb.execute('frame')\n")"#;

/// Builds the fixture natively, runs [`COMMANDS`] in gdb stopped at its `rust_panic`, and returns
/// the transcript to write to [`TRANSCRIPT`]. gdb's own warnings about its symbol tables are left
/// out.
fn record_gdb() -> String {
    let program = build_native();
    let (gdb, gdb_args) = gdb_command();
    let mut args: Vec<String> = gdb_args;
    for setup in [
        "set pagination off",
        "set width unlimited",
        "set confirm off",
        SELECT,
        "break rust_panic",
        "run",
    ] {
        args.extend(["-ex".into(), setup.into()]);
    }
    for (index, command) in COMMANDS.iter().enumerate() {
        let command = match command.strip_prefix(FRAME_FUNCTION) {
            Some(name) => format!("python gdb_diff_select({name:?})"),
            None => command.to_string(),
        };
        args.extend(["-ex".into(), format!("echo {MARK}{index}\\n"), "-ex".into()]);
        args.push(command);
    }
    args.extend(["-ex".into(), format!("echo {MARK}end\\n")]);
    // stdout and stderr as one stream, so that each error stays after its command's mark.
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "exec \"$@\" 2>&1", "sh"])
        .arg(&gdb)
        .args(["-batch", "-nx"])
        .args(&args)
        .arg(&program)
        .current_dir(Fixture::TypeZoo.source_dir().parent().unwrap());
    let out = output_within(&mut cmd, Duration::from_secs(300));
    let out = String::from_utf8_lossy(&out.stdout).into_owned();
    let warning =
        Regex::new(r"warning: \((Internal error|Error): pc 0x[0-9a-f]+ in [^\n]*\)\n").unwrap();
    let out = warning.replace_all(&out, "");
    let mut outputs = Vec::new();
    for (index, command) in COMMANDS.iter().enumerate() {
        let start = format!("{MARK}{index}\n");
        let next = match index + 1 {
            n if n == COMMANDS.len() => format!("{MARK}end\n"),
            n => format!("{MARK}{n}\n"),
        };
        let from = out
            .find(&start)
            .unwrap_or_else(|| panic!("gdb stopped before `{command}`:\n{out}"))
            + start.len();
        let to = from
            + out[from..]
                .find(&next)
                .unwrap_or_else(|| panic!("gdb stopped at `{command}`:\n{out}"));
        outputs.push(&out[from..to]);
    }
    let version = |program: &Path| -> String {
        let out = output_within(
            Command::new(program).arg("--version"),
            Duration::from_secs(60),
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines().next().unwrap_or_default().to_string()
    };
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let mut text = format!(
        "# gdb's output for the commands of crates/wasmgdb/tests/gdb_diff.rs, stopped at rust_panic\n\
         # in the typezoo fixture's native debug build. Recorded by `{REFRESH}=1 cargo test -p\n\
         # wasmgdb --test gdb_diff`; not edited by hand.\n\
         # gdb: {}\n# rustc: {}\n{}\n",
        version(&gdb),
        version(Path::new(&rustc)),
        source_line(),
    );
    for (command, output) in COMMANDS.iter().zip(outputs) {
        text.push_str(PROMPT);
        text.push_str(command);
        text.push('\n');
        text.push_str(output);
        if !output.is_empty() && !output.ends_with('\n') {
            text.push('\n');
        }
    }
    text
}

/// gdb and its first arguments: `rust-gdb` (gdb with the Rust pretty printers) when it runs,
/// else `gdb` loading the toolchain's printers itself.
fn gdb_command() -> (PathBuf, Vec<String>) {
    let runs = |program: &str| {
        Command::new(program)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if runs("rust-gdb") {
        return ("rust-gdb".into(), Vec::new());
    }
    assert!(
        runs("gdb"),
        "{REFRESH}=1 runs gdb: apt-get install gdb (rust-gdb comes with rustup's toolchains)"
    );
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .unwrap();
    let etc = Path::new(String::from_utf8_lossy(&sysroot.stdout).trim()).join("lib/rustlib/etc");
    let etc = etc.to_str().unwrap();
    let args = [
        format!("--directory={etc}"),
        "-iex".into(),
        format!("add-auto-load-safe-path {etc}"),
        "-iex".into(),
        format!("source {etc}/gdb_load_rust_pretty_printers.py"),
    ];
    ("gdb".into(), args.into())
}

/// Builds the fixture for the host in the dev profile, into the fixtures' target directory
/// (`<target dir>/fixtures/debug/typezoo`, beside the Wasm builds' target directories), and
/// returns the program's path.
fn build_native() -> PathBuf {
    let fixtures = Fixture::TypeZoo
        .source_dir()
        .parent()
        .unwrap()
        .to_path_buf();
    let target_dir = fixtures_target_dir();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&fixtures)
        .args(["build", "--locked", "--package", "typezoo", "--target-dir"])
        .arg(&target_dir);
    for name in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
    ] {
        cmd.env_remove(name);
    }
    let out = output_within(&mut cmd, Duration::from_secs(600));
    assert!(
        out.status.success(),
        "the native build of typezoo failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    target_dir.join("debug").join("typezoo")
}
