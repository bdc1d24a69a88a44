//! The `wasm-coredump-rewriter` binary: both invocation forms, the report
//! line, one clear error line (exit 1) for every kind of bad input, and an
//! output written whole or not at all.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use wasm_coredump_tests::{
    Fixture, Profile, fixture, function_exports, function_names, memory_limited, output_within,
};

#[path = "common/broken_dwarf.rs"]
mod broken_dwarf;

fn rewriter() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wasm-coredump-rewriter"))
}

fn scratch(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name)
}

fn valid(bytes: &[u8]) {
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(bytes)
        .unwrap();
}

#[test]
fn file_form_writes_output_and_reports_one_line() {
    let input = fixture(Fixture::MyThing, Profile::Debug);
    let out = scratch("cli-mything.wasm");
    let run = rewriter().arg(&input).arg("-o").arg(&out).output().unwrap();
    assert!(run.status.success());
    valid(&std::fs::read(&out).unwrap());
    let report = String::from_utf8(run.stderr).unwrap();
    assert_eq!(report.lines().count(), 1, "{report}");
    for part in [
        "functions instrumented",
        "call sites",
        "code ",
        " -> ",
        " ms",
        "unwinding with checks",
    ] {
        assert!(report.contains(part), "{part:?} missing from {report}");
    }
    let checks = rewriter()
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .args(["--unwind", "exceptions"])
        .output()
        .unwrap();
    assert!(checks.status.success());
    let report = String::from_utf8(checks.stderr).unwrap();
    assert!(report.contains("unwinding with exceptions"), "{report}");
    assert_quiet_with_q(&input, &out);
}

/// DWARF ranges that run past the code (issue #14) are tombstoned with one
/// warning line before the report; `-q` silences both.
#[test]
fn tombstoned_dwarf_ranges_are_one_warning() {
    let (module, broken) = broken_dwarf::assert_c_broken(&scratch("cli-assert-O1.wasm"));
    let input = scratch("cli-broken-dwarf.wasm");
    std::fs::write(&input, module).unwrap();
    let out = scratch("cli-broken-dwarf.rewritten.wasm");
    let run = rewriter().arg(&input).arg("-o").arg(&out).output().unwrap();
    assert!(run.status.success());
    let stderr = String::from_utf8(run.stderr).unwrap();
    let lines: Vec<_> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert_eq!(
        lines[0],
        format!(
            "warning: {}: {} DWARF address ranges could not be mapped to the rewritten code and were tombstoned",
            input.display(),
            broken.len()
        )
    );
    assert!(lines[1].contains("functions instrumented"), "{stderr}");
    assert_quiet_with_q(&input, &out);
}

/// `-q` rewrites `input` into `out` and prints nothing.
fn assert_quiet_with_q(input: &Path, out: &Path) {
    let quiet = rewriter()
        .arg(input)
        .arg("-o")
        .arg(out)
        .arg("-q")
        .output()
        .unwrap();
    assert!(quiet.status.success() && quiet.stderr.is_empty());
}

#[test]
fn stdin_to_stdout_form_gives_the_same_module() {
    let input = std::fs::read(fixture(Fixture::MyThing, Profile::Debug)).unwrap();
    let mut child = rewriter()
        .arg("-q")
        .arg("--module-name")
        .arg("mything.wasm")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let piped = child.wait_with_output().unwrap();
    assert!(piped.status.success());
    let path = scratch("cli-in.wasm");
    std::fs::write(&path, &input).unwrap();
    let out = scratch("cli-out.wasm");
    let run = rewriter()
        .arg(&path)
        .arg("-o")
        .arg(&out)
        .arg("--module-name")
        .arg("mything.wasm")
        .output()
        .unwrap();
    assert!(run.status.success());
    assert_eq!(
        piped.stdout,
        std::fs::read(&out).unwrap(),
        "same bytes either way"
    );
}

/// Checks a failed run: exit 1, and on stderr one `error:` line (and at most a `hint:` line)
/// that locates nothing at offset 0 (the magic number is there, but nothing else is).
fn fails(run: Output, what: &str) -> String {
    assert_eq!(run.status.code(), Some(1), "{what}");
    let stderr = String::from_utf8(run.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(lines[0].starts_with("error: "), "{what}: {stderr}");
    assert!(
        lines.len() == 1 || (lines.len() == 2 && lines[1].starts_with("hint: ")),
        "{what}: one line: {stderr}"
    );
    assert!(!stderr.contains("(at offset 0x0)"), "{what}: {stderr}");
    assert!(!stderr.contains("at offset 0x0:"), "{what}: {stderr}");
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    stderr
}

/// A module of one function whose `part` (export, element or start) names
/// function 5.
fn naming_function_5(part: &str) -> Vec<u8> {
    use wasm_encoder::{
        CodeSection, ConstExpr, ElementSection, Elements, ExportKind, ExportSection, Function,
        FunctionSection, MemorySection, MemoryType, Module, RefType, StartSection, TableSection,
        TableType, TypeSection,
    };
    let mut module = Module::new();
    let mut types = TypeSection::new();
    types.ty().function([], []);
    module.section(&types);
    let mut funcs = FunctionSection::new();
    funcs.function(0);
    module.section(&funcs);
    let mut tables = TableSection::new();
    tables.table(TableType {
        element_type: RefType::FUNCREF,
        table64: false,
        minimum: 1,
        maximum: None,
        shared: false,
    });
    module.section(&tables);
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: 1,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    module.section(&memories);
    let mut exports = ExportSection::new();
    exports.export("f", ExportKind::Func, if part == "export" { 5 } else { 0 });
    module.section(&exports);
    if part == "start" {
        module.section(&StartSection { function_index: 5 });
    }
    if part == "element" {
        let mut elements = ElementSection::new();
        let offset = ConstExpr::i32_const(0);
        elements.active(None, &offset, Elements::Functions([5].as_slice().into()));
        module.section(&elements);
    }
    let mut code = CodeSection::new();
    let mut body = Function::new([]);
    body.instructions().unreachable().end();
    code.function(&body);
    module.section(&code);
    module.finish()
}

#[test]
fn bad_input_is_one_clear_error() {
    let module = std::fs::read(fixture(Fixture::MyThing, Profile::Debug)).unwrap();
    let cases: [(&str, Vec<u8>, &str); 9] = [
        (
            "empty",
            Vec::new(),
            "not a WebAssembly module: the input is empty",
        ),
        (
            "not wasm",
            b"\x7fELF\x02\x01\x01\0 not a module".to_vec(),
            "no `\\0asm` magic number at offset 0x0 (found 7f 45 4c 46)",
        ),
        (
            "random bytes",
            (0..4096u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
                .collect(),
            "not a WebAssembly module: no `\\0asm` magic number at offset 0x0",
        ),
        (
            "bad version",
            b"\0asm\x02\0\0\0".to_vec(),
            "malformed module at offset 0x4: unknown binary version: 0x2",
        ),
        (
            "truncated",
            module[..5000].to_vec(),
            "truncated: code section (section ",
        ),
        (
            "no memory",
            wat::parse_str("(module (func (export \"f\") unreachable))").unwrap(),
            "no linear memory",
        ),
        (
            "export out of range",
            naming_function_5("export"),
            "an export names function 5, but there are 1",
        ),
        (
            "element out of range",
            naming_function_5("element"),
            "an element segment names function 5, but there are 1",
        ),
        (
            "start out of range",
            naming_function_5("start"),
            // wasmparser's validator, as `wasm-tools validate` says it.
            "malformed module at offset 0x26: unknown function 5: func index out of bounds",
        ),
    ];
    for (what, bytes, message) in cases {
        let path = scratch(&format!("cli-bad-{}.wasm", what.replace(' ', "-")));
        std::fs::write(&path, &bytes).unwrap();
        let out = scratch("cli-bad-out.wasm");
        let stderr = fails(
            rewriter().arg(&path).arg("-o").arg(&out).output().unwrap(),
            what,
        );
        assert!(stderr.contains(message), "{what}: {stderr}");
        assert!(
            stderr.contains(&*path.to_string_lossy()),
            "{what} names the file: {stderr}"
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "{what}: input untouched"
        );
    }
    let stderr = fails(
        rewriter().arg(scratch("missing.wasm")).output().unwrap(),
        "missing",
    );
    assert!(stderr.contains("No such file"), "{stderr}");
    let stderr = fails(
        rewriter()
            .arg(env!("CARGO_TARGET_TMPDIR"))
            .output()
            .unwrap(),
        "a directory",
    );
    assert!(stderr.ends_with(": not a regular file\n"), "{stderr}");
}

/// The output file is written whole or not at all: an error found once part
/// of the module is written (here, in its DWARF, after the code) leaves no
/// file, partial or temporary, and an existing output as it was; a rewrite
/// over an existing file keeps its permissions.
#[test]
fn an_output_file_is_written_whole_or_not_at_all() {
    let dir = scratch_dir("cli-whole-or-nothing");
    let module = std::fs::read(fixture(Fixture::MyThing, Profile::Debug)).unwrap();
    let refused = refused_late();
    let (input, refused_input) = (dir.join("in.wasm"), dir.join("refused.wasm"));
    std::fs::write(&input, &module).unwrap();
    std::fs::write(&refused_input, &refused).unwrap();
    let existing = dir.join("existing.wasm");
    std::fs::write(&existing, b"old").unwrap();
    for out in [dir.join("new.wasm"), existing.clone()] {
        let run = rewriter().arg(&refused_input).arg("-o").arg(&out).output();
        let stderr = fails(run.unwrap(), "a second .debug_info");
        assert!(
            stderr.contains("more than one .debug_info section"),
            "{stderr}"
        );
    }
    assert_eq!(listing(&dir), ["existing.wasm", "in.wasm", "refused.wasm"]);
    assert_eq!(std::fs::read(&existing).unwrap(), b"old");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::Permissions::from_mode(0o640);
        std::fs::set_permissions(&existing, mode).unwrap();
        let run = rewriter().arg(&input).arg("-o").arg(&existing).output();
        assert!(run.unwrap().status.success());
        valid(&std::fs::read(&existing).unwrap());
        let mode = std::fs::metadata(&existing).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
    }
}

/// A module without a `name` section (a release build) still has its functions named in
/// messages: by their export, as the Export section gives it.
#[test]
fn a_message_names_a_function_by_its_export() {
    // `run` returns a non-nullable reference, which a landing pad cannot make up when
    // unwinding with checks.
    let module = wat::parse_str(
        r#"(module
            (type (func))
            (memory 1)
            (func unreachable)
            (func (export "run") (result (ref 0)) call 0 ref.func 0)
            (elem declare func 0))"#,
    )
    .unwrap();
    assert!(function_names(&module).is_empty(), "no name section");
    let [(name, index)] = &function_exports(&module)[..] else {
        panic!("one export")
    };
    let path = scratch("cli-unnamed.wasm");
    std::fs::write(&path, &module).unwrap();
    let stderr = fails(
        rewriter()
            .arg(&path)
            .args(["--unwind", "checks", "-o"])
            .arg(scratch("cli-unnamed-out.wasm"))
            .output()
            .unwrap(),
        "non-nullable result",
    );
    let expected = format!("function `{name}` (func[{index}]) returns a non-nullable reference");
    assert!(stderr.contains(&expected), "{stderr}");
}

/// How long a run may take before it is taken to be blocked.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A new empty directory in the scratch directory.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = scratch(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The directory's file names, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// MyThing with a second `.debug_info` section, refused once the code is written.
fn refused_late() -> Vec<u8> {
    use wasm_encoder::Section;
    let mut module = std::fs::read(fixture(Fixture::MyThing, Profile::Debug)).unwrap();
    wasm_encoder::CustomSection {
        name: ".debug_info".into(),
        data: [0; 8].as_slice().into(),
    }
    .append_to(&mut module);
    module
}

/// A FIFO with no writer as the input blocked for ever, and `/dev/zero` was read without end
/// (6 GB after 6 s): what is not a regular file is refused in one line. (Run with 1 GiB of
/// address space, so that a regression fails rather than takes the machine's memory.)
#[cfg(target_os = "linux")]
#[test]
fn special_files_as_input_are_refused_not_read_for_ever() {
    let dir = scratch_dir("cli-special-input");
    let fifo = dir.join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let out = dir.join("out.wasm");
    let rewriter = || memory_limited(env!("CARGO_BIN_EXE_wasm-coredump-rewriter"), 1 << 30);
    for special in [fifo.as_path(), Path::new("/dev/zero")] {
        let run = output_within(rewriter().arg(special).arg("-o").arg(&out), TIMEOUT);
        let stderr = fails(run, "special input");
        assert_eq!(
            stderr,
            format!(
                "error: cannot read {}: not a regular file\n",
                special.display()
            )
        );
    }
    // Stdin may be a pipe, not a device that never ends.
    let zero = std::fs::File::open("/dev/zero").unwrap();
    let run = output_within(rewriter().stdin(zero).arg("-o").arg(&out), TIMEOUT);
    let stderr = fails(run, "stdin from /dev/zero");
    assert_eq!(
        stderr,
        "error: cannot read stdin: not a regular file or a pipe\n"
    );
    assert_eq!(listing(&dir), ["fifo"]);
}

/// A write that fails midway (the file size limit, as a full disk would) leaves no partial
/// output, no temporary file, and the file it was to replace, the input itself included, as
/// it was.
#[cfg(target_os = "linux")]
#[test]
fn a_write_that_fails_midway_leaves_no_partial_file() {
    let dir = scratch_dir("cli-fsize");
    let input = dir.join("in.wasm");
    let module = std::fs::read(fixture(Fixture::MyThing, Profile::Debug)).unwrap();
    std::fs::write(&input, &module).unwrap();
    let existing = dir.join("existing.wasm");
    std::fs::write(&existing, b"old").unwrap();
    for out in [dir.join("new.wasm"), existing.clone(), input.clone()] {
        // SIGXFSZ as the shell leaves it (kill): the rewriter must not die of it.
        let run = output_within(
            Command::new("prlimit")
                .arg("--fsize=65536")
                .arg(env!("CARGO_BIN_EXE_wasm-coredump-rewriter"))
                .arg(&input)
                .arg("-o")
                .arg(&out),
            TIMEOUT,
        );
        let stderr = fails(run, "file size limit");
        assert_eq!(
            stderr,
            format!(
                "error: cannot write {}: File too large (os error 27)\n",
                out.display()
            )
        );
    }
    assert_eq!(listing(&dir), ["existing.wasm", "in.wasm"]);
    assert_eq!(std::fs::read(&existing).unwrap(), b"old");
    assert_eq!(std::fs::read(&input).unwrap(), module);
}

/// SIGTERM, SIGINT or SIGHUP while the output is being written (its temporary file is there):
/// the process ends by that signal, and leaves no temporary file and no output.
#[cfg(target_os = "linux")]
#[test]
fn a_signal_while_writing_leaves_no_file() {
    use std::os::unix::process::ExitStatusExt;
    let module = std::fs::read(fixture(Fixture::MyThing, Profile::Debug)).unwrap();
    for signal in ["TERM", "INT", "HUP"] {
        let dir = scratch_dir(&format!("cli-signal-{signal}"));
        let input = dir.join("in.wasm");
        std::fs::write(&input, &module).unwrap();
        // Tried until the signal lands while the temporary file is there (the rewrite may be
        // done before it is seen).
        let caught = (0..20).any(|_| {
            let mut child = rewriter()
                .arg(&input)
                .args(["-o", "out.wasm"])
                .current_dir(&dir)
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let writing = loop {
                if listing(&dir).iter().any(|name| name.ends_with(".tmp")) {
                    break true;
                }
                if child.try_wait().unwrap().is_some() {
                    break false;
                }
            };
            if writing {
                Command::new("kill")
                    .args([&format!("-{signal}"), &child.id().to_string()])
                    .status()
                    .unwrap();
            }
            let status = child.wait().unwrap();
            if !writing || status.success() {
                let _ = std::fs::remove_file(dir.join("out.wasm"));
                return false;
            }
            let number = match signal {
                "TERM" => 15,
                "INT" => 2,
                _ => 1,
            };
            assert_eq!(status.signal(), Some(number), "{signal}: {status}");
            true
        });
        assert!(caught, "{signal}: never sent while writing");
        assert_eq!(listing(&dir), ["in.wasm"], "{signal}");
    }
}

/// `-o` naming the input: left as it was when the rewrite fails, the rewritten module when it
/// succeeds.
#[test]
fn the_input_as_output_is_replaced_only_by_a_whole_module() {
    let dir = scratch_dir("cli-in-place");
    let path = dir.join("app.wasm");
    let refused = refused_late();
    std::fs::write(&path, &refused).unwrap();
    fails(
        rewriter().arg(&path).arg("-o").arg(&path).output().unwrap(),
        "in place, refused",
    );
    assert_eq!(std::fs::read(&path).unwrap(), refused);

    let module = std::fs::read(fixture(Fixture::MyThing, Profile::Debug)).unwrap();
    std::fs::write(&path, &module).unwrap();
    let elsewhere = dir.join("elsewhere.wasm");
    let run = rewriter().arg(&path).arg("-o").arg(&elsewhere).output();
    assert!(run.unwrap().status.success());
    let run = rewriter().arg(&path).arg("-o").arg(&path).output();
    assert!(run.unwrap().status.success());
    assert_eq!(
        std::fs::read(&path).unwrap(),
        std::fs::read(&elsewhere).unwrap()
    );
    assert_eq!(listing(&dir), ["app.wasm", "elsewhere.wasm"]);
}

/// `-o` naming a symlink writes the file it points at (created if it does not exist yet) and
/// keeps the link.
#[cfg(unix)]
#[test]
fn a_symlink_output_is_written_through() {
    let dir = scratch_dir("cli-symlink");
    std::fs::create_dir(dir.join("real")).unwrap();
    let link = dir.join("link.wasm");
    std::os::unix::fs::symlink("real/app.wasm", &link).unwrap();
    let input = fixture(Fixture::MyThing, Profile::Debug);
    for _ in 0..2 {
        let run = rewriter().arg(&input).arg("-o").arg(&link).output();
        assert!(run.unwrap().status.success());
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        valid(&std::fs::read(dir.join("real/app.wasm")).unwrap());
    }
    assert_eq!(listing(&dir), ["link.wasm", "real"]);
    assert_eq!(listing(&dir.join("real")), ["app.wasm"]);
}

/// `-o` naming a device other than `/dev/null`, a socket or a directory is refused in one line
/// before anything is written; `/dev/null` takes the module. (The device is reached through a
/// symlink, so that the test cannot replace `/dev/full` if that comes back.)
#[cfg(unix)]
#[test]
fn special_outputs_are_refused_but_dev_null() {
    let dir = scratch_dir("cli-special-output");
    let full = dir.join("full");
    std::os::unix::fs::symlink("/dev/full", &full).unwrap();
    let socket = dir.join("socket");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let directory = dir.join("directory");
    std::fs::create_dir(&directory).unwrap();
    let input = fixture(Fixture::MyThing, Profile::Debug);
    for out in [&full, &socket, &directory] {
        let run = rewriter().arg(&input).arg("-o").arg(out).output().unwrap();
        let stderr = fails(run, "special output");
        assert_eq!(
            stderr,
            format!(
                "error: cannot write {}: not a regular file\n",
                out.display()
            )
        );
    }
    assert_eq!(listing(&dir), ["directory", "full", "socket"]);
    assert!(listing(&directory).is_empty());
    let run = rewriter().arg(&input).args(["-o", "/dev/null"]).output();
    assert!(run.unwrap().status.success());
}

/// Written to stdout, a module refused once part of it was made (an error in its DWARF, after
/// the code) left that part on stdout with exit 1: stdout, and `-o` naming a pipe, get the
/// module only once it is whole.
#[test]
fn a_failed_rewrite_writes_nothing_to_stdout() {
    let path = scratch("cli-refused-late.wasm");
    std::fs::write(&path, refused_late()).unwrap();
    for args in [&[][..], &["-o", "/dev/stdout"]] {
        let run = rewriter().arg(&path).args(args).output().unwrap();
        assert!(
            run.stdout.is_empty(),
            "{args:?}: {} bytes",
            run.stdout.len()
        );
        let stderr = fails(run, "refused late");
        assert!(
            stderr.contains("more than one .debug_info section"),
            "{stderr}"
        );
    }
}

/// Refusals said `(at offset 0x0)`, which locates nothing (memory64, multi-memory, a GC-typed
/// global, exceptions-mode on a module with its own handlers): each now names the section and
/// offset of the declaration or instruction that decided it.
#[test]
fn a_refusal_is_located_where_the_module_decided_it() {
    let cases = [
        (
            "memory64",
            r#"(module (memory i64 1) (func (export "f") unreachable))"#,
            "unsupported: memory64 (64-bit memory)",
            (5, "memory section"),
        ),
        (
            "multi-memory",
            r#"(module (memory 1) (memory 1) (func (export "f") unreachable))"#,
            "unsupported: multi-memory (more than one memory)",
            (5, "memory section"),
        ),
        (
            "imported memory64",
            r#"(module (import "env" "m" (memory i64 1)) (func (export "f") unreachable))"#,
            "unsupported: memory64 (64-bit memory)",
            (2, "import section"),
        ),
        (
            "GC-typed global",
            r#"(module (type $s (struct (field i32))) (memory 1)
                (global (ref null $s) (ref.null $s)) (func (export "f") unreachable))"#,
            "unsupported: global 0 of reference type (ref null (module 0))",
            (6, "global section"),
        ),
        (
            "own tag",
            r#"(module (memory 1) (tag $t) (func (export "f") (throw $t)))"#,
            "unsupported: unwinding with exceptions in a module that handles exceptions itself",
            (13, "tag section"),
        ),
        (
            "own handler",
            r#"(module (memory 1)
                (func (export "f") (block (try_table (catch_all 0) (unreachable)))))"#,
            "unsupported: unwinding with exceptions in a module that handles exceptions itself",
            (10, "code section"),
        ),
    ];
    for (what, wat, message, (section_id, section_name)) in cases {
        let module = wat::parse_str(wat).unwrap();
        let path = scratch(&format!("cli-located-{}.wasm", what.replace(' ', "-")));
        std::fs::write(&path, &module).unwrap();
        let run = rewriter()
            .arg(&path)
            .args(["--unwind", "exceptions", "-o"])
            .arg(scratch("cli-located-out.wasm"))
            .output()
            .unwrap();
        let stderr = fails(run, what);
        assert!(
            stderr.starts_with(&format!(
                "error: cannot rewrite {}: {message}",
                path.display()
            )),
            "{what}: {stderr}"
        );
        let at = format!("(at {section_name} offset 0x");
        let offset = stderr
            .split(&at)
            .nth(1)
            .and_then(|rest| u64::from_str_radix(rest.split(')').next()?, 16).ok())
            .unwrap_or_else(|| panic!("{what}: not {at}...): {stderr}"));
        let layout = wasm_layout::ModuleLayout::parse(&module).unwrap();
        let section = layout.section(section_id).unwrap();
        assert!(
            section.content.contains(&(offset as usize)),
            "{what}: {offset:#x} is not in section {section_id} at {:?}",
            section.content
        );
    }
}

/// MyThing with the data of its custom section `name` cut to `keep` bytes (`None`: the section
/// left out), and where that data starts in the file.
fn mything_with_custom_section(name: &str, keep: Option<usize>) -> (Vec<u8>, usize) {
    use wasm_encoder::Section;
    let module = std::fs::read(fixture(Fixture::MyThing, Profile::Debug)).unwrap();
    let layout = wasm_layout::ModuleLayout::parse(&module).unwrap();
    let mut out = module[..8].to_vec();
    let mut data_start = 0;
    for section in layout.sections() {
        if section.name.as_deref() != Some(name) {
            out.extend_from_slice(&module[section.range.clone()]);
        } else if let Some(keep) = keep {
            let mut bytes = Vec::new();
            wasm_encoder::CustomSection {
                name: name.into(),
                data: module[section.data.clone()][..keep].into(),
            }
            .append_to(&mut bytes);
            data_start = out.len() + bytes.len() - keep;
            out.extend(bytes);
        }
    }
    (out, data_start)
}

/// Runs the rewriter on `module` (written to the scratch file `name`): its error line.
fn refusal(name: &str, module: &[u8]) -> (PathBuf, String) {
    let path = scratch(name);
    std::fs::write(&path, module).unwrap();
    let run = rewriter()
        .arg(&path)
        .arg("-o")
        .arg(scratch("cli-refusal-out.wasm"))
        .output()
        .unwrap();
    let stderr = fails(run, name);
    (path, stderr)
}

/// A `.debug_info` cut short said where the section starts, not where its reading ran out.
#[test]
fn truncated_dwarf_is_located_in_its_section() {
    let (cut, data_start) = mything_with_custom_section(".debug_info", Some(100));
    let (path, stderr) = refusal("cli-truncated-dwarf.wasm", &cut);
    let (at, message) = stderr
        .strip_prefix(&format!(
            "error: cannot rewrite {}: malformed module at offset 0x",
            path.display()
        ))
        .and_then(|rest| rest.split_once(": "))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!(message, ".debug_info: unexpected end of input\n");
    let at = usize::from_str_radix(at, 16).unwrap();
    assert!(
        (data_start + 1..=data_start + 100).contains(&at),
        "{at:#x}: {stderr}"
    );
}

/// A DWARF section the DWARF refers to but the module does not have was reported at offset 0.
#[test]
fn a_missing_dwarf_section_is_said_missing() {
    let (module, _) = mything_with_custom_section(".debug_ranges", None);
    let (path, stderr) = refusal("cli-no-debug-ranges.wasm", &module);
    assert_eq!(
        stderr,
        format!(
            "error: cannot rewrite {}: malformed module: .debug_ranges: list runs past the \
             section's end (the module has no .debug_ranges section)\n",
            path.display()
        )
    );
}
