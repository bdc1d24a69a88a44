//! The `wasm-coredump-rewriter` binary: both invocation forms, the report
//! line, and one clear error (exit 1) for every kind of bad input.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use wasm_coredump_tests::{Fixture, Profile, fixture, function_exports, function_names};

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
        "unwinding with exceptions",
    ] {
        assert!(report.contains(part), "{part:?} missing from {report}");
    }
    let checks = rewriter()
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .args(["--unwind", "checks"])
        .output()
        .unwrap();
    assert!(checks.status.success());
    let report = String::from_utf8(checks.stderr).unwrap();
    assert!(report.contains("unwinding with checks"), "{report}");
    let quiet = rewriter()
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .arg("-q")
        .output()
        .unwrap();
    assert!(quiet.status.success() && quiet.stderr.is_empty());
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
    let quiet = rewriter()
        .arg(&input)
        .arg("-o")
        .arg(&out)
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

fn fails(run: Output, what: &str) -> String {
    assert_eq!(run.status.code(), Some(1), "{what}");
    let stderr = String::from_utf8(run.stderr).unwrap();
    assert!(stderr.starts_with("error: "), "{what}: {stderr}");
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
    let cases: [(&str, Vec<u8>, &str); 7] = [
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
            "the start function is function 5, but there are 1",
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
    fails(
        rewriter()
            .arg(env!("CARGO_TARGET_TMPDIR"))
            .output()
            .unwrap(),
        "a directory",
    );
}

/// The output file is written whole or not at all: an error found once part
/// of the module is written (here, in its DWARF, after the code) leaves no
/// file, partial or temporary, and an existing output as it was; a rewrite
/// over an existing file keeps its permissions.
#[test]
fn an_output_file_is_written_whole_or_not_at_all() {
    use wasm_encoder::Section;
    let dir = scratch("cli-whole-or-nothing");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let module = std::fs::read(fixture(Fixture::MyThing, Profile::Debug)).unwrap();
    let mut refused = module.clone();
    wasm_encoder::CustomSection {
        name: ".debug_info".into(),
        data: [0; 8].as_slice().into(),
    }
    .append_to(&mut refused);
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
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(files, ["existing.wasm", "in.wasm", "refused.wasm"]);
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
