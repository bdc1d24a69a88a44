//! CLI tests: the built `debuginfo-split` binary run in temporary directories.

mod common;

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use common::*;

/// Parses the three lines of the text output: (build id, module line, debug file path).
fn parse_text(out: &str) -> (String, String, String) {
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    let id = lines[0].strip_prefix("build_id: ").expect(out).to_owned();
    let module = lines[1].strip_prefix("module: ").expect(out).to_owned();
    let debug = lines[2].strip_prefix("debug_file: ").expect(out);
    let debug = debug[..debug.rfind(" (").unwrap()].to_owned();
    (id, module, debug)
}

/// Checks that `stripped` and `debug` are the split of `input`.
fn check_outputs(input: &[u8], stripped: &[u8], debug: &[u8]) {
    validate(stripped);
    validate(debug);
    let code = code_range(input);
    assert_eq!(code_range(stripped), code);
    assert_eq!(code_range(debug), code);
    assert_eq!(stripped[code.clone()], input[code.clone()]);
    assert!(!has_dwarf(stripped));
    assert_eq!(debug[..input.len()], input[..]);
    assert_eq!(
        custom_data(stripped, "build_id"),
        custom_data(debug, "build_id")
    );
}

#[test]
fn in_place_by_default_with_debug_file_in_current_dir() {
    let input = module_with_dwarf();
    let dir = dir_with(&input);
    let out = run(dir.path(), &["m.wasm"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let (id, module, debug_path) = parse_text(&stdout(&out));
    let stripped = fs::read(dir.path().join("m.wasm")).unwrap();
    assert_eq!(module, format!("m.wasm ({} bytes)", stripped.len()));
    assert_eq!(debug_path, format!("./debug-{id}.wasm"));
    let debug = fs::read(dir.path().join(&debug_path)).unwrap();
    check_outputs(&input, &stripped, &debug);
    let uuid = uuid::Uuid::parse_str(&id).unwrap();
    // BuildId.md: the payload is the id's length, then the id.
    let payload = [&[16][..], uuid.as_bytes()].concat();
    assert_eq!(custom_data(&stripped, "build_id"), [&payload[..]]);
    // No temporary file left behind.
    assert_eq!(
        listing(dir.path()),
        [format!("debug-{id}.wasm"), "m.wasm".into()]
    );
}

#[test]
fn output_elsewhere_leaves_input_alone() {
    let input = module_with_dwarf();
    let dir = dir_with(&input);
    fs::create_dir(dir.path().join("dist")).unwrap();
    let out = run(dir.path(), &["m.wasm", "-o", "dist/app.wasm"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, module, debug_path) = parse_text(&stdout(&out));
    assert!(module.starts_with("dist/app.wasm ("), "{module}");
    assert_eq!(fs::read(dir.path().join("m.wasm")).unwrap(), input);
    let stripped = fs::read(dir.path().join("dist/app.wasm")).unwrap();
    let debug = fs::read(dir.path().join(debug_path)).unwrap();
    check_outputs(&input, &stripped, &debug);
}

#[test]
fn debug_file_path_and_out_dir() {
    let input = module_with_dwarf();
    let dir = dir_with(&input);
    let out = run(dir.path(), &["m.wasm", "-o", "a.wasm", "-d", "sym.wasm"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, _, debug_path) = parse_text(&stdout(&out));
    assert_eq!(debug_path, "sym.wasm");
    check_outputs(
        &input,
        &fs::read(dir.path().join("a.wasm")).unwrap(),
        &fs::read(dir.path().join("sym.wasm")).unwrap(),
    );

    let out = run(dir.path(), &["m.wasm", "--out-dir", "symbols/wasm"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (id, _, debug_path) = parse_text(&stdout(&out));
    assert_eq!(debug_path, format!("symbols/wasm/debug-{id}.wasm"));
    let debug = fs::read(dir.path().join(&debug_path)).unwrap();
    check_outputs(
        &input,
        &fs::read(dir.path().join("m.wasm")).unwrap(),
        &debug,
    );

    // Both at once is a usage error.
    let out = run(dir.path(), &["m.wasm", "-d", "x.wasm", "--out-dir", "d"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn json_output_shape() {
    let input = module_with_dwarf();
    let dir = dir_with(&input);
    let out = run(dir.path(), &["m.wasm", "--json", "--out-dir", "sym"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let obj = v.as_object().unwrap();
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "build_id",
            "build_id_source",
            "debug_file",
            "debug_file_bytes",
            "module",
            "module_bytes",
            "removed_sections",
            "status"
        ]
    );
    let id = v["build_id"].as_str().unwrap();
    assert_eq!(v["status"], "split");
    assert_eq!(v["build_id_source"], "random");
    assert_eq!(v["module"], "m.wasm");
    assert_eq!(v["debug_file"], format!("sym/debug-{id}.wasm"));
    let stripped = fs::read(dir.path().join("m.wasm")).unwrap();
    let debug = fs::read(dir.path().join(format!("sym/debug-{id}.wasm"))).unwrap();
    assert_eq!(v["module_bytes"], stripped.len());
    assert_eq!(v["debug_file_bytes"], debug.len());
    assert_eq!(
        v["removed_sections"],
        serde_json::json!([".debug_info", ".debug_line", ".debug_str"])
    );
}

#[test]
fn deterministic_twice_gives_same_bytes() {
    let input = module_with_dwarf();
    let mut results = Vec::new();
    for _ in 0..2 {
        let dir = dir_with(&input);
        let out = run(dir.path(), &["m.wasm", "--deterministic"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let (id, _, debug_path) = parse_text(&stdout(&out));
        results.push((
            id,
            fs::read(dir.path().join("m.wasm")).unwrap(),
            fs::read(dir.path().join(debug_path)).unwrap(),
        ));
    }
    assert_eq!(results[0], results[1]);
    let uuid = uuid::Uuid::parse_str(&results[0].0).unwrap();
    assert_eq!(uuid.get_version_num(), 5);
}

#[test]
fn given_build_id_and_external_url() {
    let input = module_with_dwarf();
    let dir = dir_with(&input);
    let id = "12345678-9abc-4def-8123-456789abcdef";
    let out = run(
        dir.path(),
        &[
            "m.wasm",
            "--build-id",
            id,
            "--external-url",
            "https://sym.example/debug-{uuid}.wasm",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let (printed, _, debug_path) = parse_text(&stdout(&out));
    assert_eq!(printed, id);
    assert_eq!(debug_path, format!("./debug-{id}.wasm"));
    let stripped = fs::read(dir.path().join("m.wasm")).unwrap();
    let url = format!("https://sym.example/debug-{id}.wasm");
    let mut payload = vec![url.len() as u8];
    payload.extend_from_slice(url.as_bytes());
    assert_eq!(
        custom_data(&stripped, "external_debug_info"),
        [&payload[..]]
    );
    let debug = fs::read(dir.path().join(debug_path)).unwrap();
    check_outputs(&input, &stripped, &debug);

    let out = run(dir.path(), &["m.wasm", "--build-id", "not-a-uuid"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn existing_build_id_is_kept_and_a_given_one_warned_about() {
    let mut input = module_with_dwarf();
    // As lld --build-id=sha1 writes it: the length 20, then the id.
    input.extend(custom("build_id", &[&[20][..], &[0xab; 20]].concat()));
    let dir = dir_with(&input);
    let out = run(
        dir.path(),
        &[
            "m.wasm",
            "--build-id",
            "12345678-9abc-4def-8123-456789abcdef",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let hex = "ab".repeat(20);
    assert_eq!(
        stderr(&out),
        format!(
            "warning: m.wasm already has build_id {hex}: kept, --build-id \
             12345678-9abc-4def-8123-456789abcdef ignored\n"
        )
    );
    let (id, _, debug_path) = parse_text(&stdout(&out));
    assert_eq!(id, hex);
    assert_eq!(debug_path, format!("./debug-{hex}.wasm"));
    assert_eq!(fs::read(dir.path().join(debug_path)).unwrap(), input);
}

/// The raw 16-byte ids of the older tools (no length) are kept and read whole, with a note.
#[test]
fn a_raw_build_id_of_the_older_tools_is_kept_with_a_note() {
    let mut input = module_with_dwarf();
    let raw = [
        0x86, 0x45, 0x1b, 0x4e, 0x28, 0xba, 0x2f, 0xa1, 0x11, 0xd2, 0x88, 0x3f, 0x00, 0x16, 0xd3,
        0xcc,
    ];
    input.extend(custom("build_id", &raw));
    let dir = dir_with(&input);
    let out = run(dir.path(), &["m.wasm"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let uuid = "86451b4e-28ba-2fa1-11d2-883f0016d3cc";
    assert_eq!(
        stderr(&out),
        format!(
            "note: m.wasm's build_id section has no length prefix (an older wasm-coredump wrote \
             it): read as the raw id {uuid}\n"
        )
    );
    let (id, _, debug_path) = parse_text(&stdout(&out));
    assert_eq!(id, uuid);
    assert_eq!(debug_path, format!("./debug-{uuid}.wasm"));
    assert_eq!(fs::read(dir.path().join(debug_path)).unwrap(), input);
}

#[test]
fn strip_names() {
    let input = module_with_dwarf();
    let dir = dir_with(&input);
    let out = run(dir.path(), &["m.wasm", "--strip-names"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stripped = fs::read(dir.path().join("m.wasm")).unwrap();
    assert!(custom_data(&stripped, "name").is_empty());
}

/// Parses the two lines of the text output for a module without DWARF: (build id, module line).
fn parse_no_dwarf_text(out: &str) -> (String, String) {
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    let id = lines[0].strip_prefix("build_id: ").expect(out).to_owned();
    let module = lines[1].strip_prefix("module: ").expect(out).to_owned();
    (id, module)
}

/// A module without DWARF still ships, with its build_id, where the build step expects it.
/// Regression: `-o dist/app.wasm` exited 0 and wrote no `dist/app.wasm`.
#[test]
fn no_dwarf_writes_the_output_with_a_build_id() {
    let input = base_module();
    let dir = dir_with(&input);
    fs::create_dir(dir.path().join("dist")).unwrap();
    let out = run(dir.path(), &["m.wasm", "-o", "dist/app.wasm"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (id, module) = parse_no_dwarf_text(&stdout(&out));
    let written = fs::read(dir.path().join("dist/app.wasm")).unwrap();
    validate(&written);
    assert_eq!(module, format!("dist/app.wasm ({} bytes)", written.len()));
    let uuid = uuid::Uuid::parse_str(&id).unwrap();
    // BuildId.md: the payload is the id's length, then the id.
    let payload = [&[16][..], uuid.as_bytes()].concat();
    assert_eq!(custom_data(&written, "build_id"), [&payload[..]]);
    // The input and a build_id: every section of the input, in order, then the new one.
    assert_eq!(written[..input.len()], input[..]);
    assert_eq!(
        stderr(&out),
        format!(
            "note: m.wasm has no DWARF to move: wrote dist/app.wasm with build_id {id}, no \
             debug file\n"
        )
    );
    // The input is untouched, no debug file and no temporary file are left.
    assert_eq!(fs::read(dir.path().join("m.wasm")).unwrap(), input);
    assert_eq!(listing(dir.path()), ["dist", "m.wasm"]);
    assert_eq!(listing(&dir.path().join("dist")), ["app.wasm"]);

    let out = run(dir.path(), &["m.wasm", "-o", "dist/app.wasm", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let written = fs::read(dir.path().join("dist/app.wasm")).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "status": "no_dwarf",
            "build_id": v["build_id"],
            "build_id_source": "random",
            "module": "dist/app.wasm",
            "module_bytes": written.len(),
            "debug_file": null,
            "debug_file_bytes": null,
            "removed_sections": [],
        })
    );
    assert_ne!(v["build_id"], id.as_str(), "a new random id");

    let out = run(dir.path(), &["m.wasm", "--require-dwarf"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out),
        "error: no DWARF in m.wasm: nothing to split\n"
    );
    assert_eq!(fs::read(dir.path().join("m.wasm")).unwrap(), input);
}

/// In place, a module without DWARF gets its build_id as a split module would; run again (it
/// has one now), it is left as it is.
#[test]
fn no_dwarf_in_place_gets_a_build_id_once() {
    let input = base_module();
    let dir = dir_with(&input);
    let first = run(dir.path(), &["m.wasm", "--deterministic"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let (id, _) = parse_no_dwarf_text(&stdout(&first));
    let stamped = fs::read(dir.path().join("m.wasm")).unwrap();
    validate(&stamped);
    assert_eq!(stamped[..input.len()], input[..]);
    assert_eq!(custom_data(&stamped, "build_id").len(), 1);
    assert_eq!(
        stderr(&first),
        format!(
            "note: m.wasm has no DWARF to move: wrote m.wasm with build_id {id}, no debug file\n"
        )
    );
    assert_eq!(listing(dir.path()), ["m.wasm"]);

    let second = run(dir.path(), &["m.wasm"]);
    assert_eq!(second.status.code(), Some(0));
    assert_eq!(
        stdout(&second),
        format!("build_id: {id}\nmodule: m.wasm ({} bytes)\n", stamped.len())
    );
    assert_eq!(
        stderr(&second),
        format!(
            "note: m.wasm has no DWARF to move: left as it was, with build_id {id}, no debug \
             file\n"
        )
    );
    assert_eq!(fs::read(dir.path().join("m.wasm")).unwrap(), stamped);
}

#[test]
fn already_split_module_is_left_as_it_is() {
    let dir = dir_with(&module_with_dwarf());
    let first = run(dir.path(), &["m.wasm"]);
    assert!(first.status.success());
    let (id, _, _) = parse_text(&stdout(&first));
    let stripped = fs::read(dir.path().join("m.wasm")).unwrap();
    let second = run(dir.path(), &["m.wasm"]);
    assert_eq!(second.status.code(), Some(0));
    assert_eq!(parse_no_dwarf_text(&stdout(&second)).0, id);
    assert!(
        stderr(&second).contains("left as it was"),
        "{}",
        stderr(&second)
    );
    assert_eq!(fs::read(dir.path().join("m.wasm")).unwrap(), stripped);
}

#[test]
fn bad_inputs_fail_cleanly_and_touch_nothing() {
    let module = module_with_dwarf();
    let debug_info = sections(&module)
        .into_iter()
        .find(|s| s.name.as_deref() == Some(".debug_info"))
        .unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "empty",
            vec![],
            "not a WebAssembly module: the input is empty",
        ),
        (
            "random bytes",
            fake_dwarf(9, 4096),
            "not a WebAssembly module: no `\\0asm` magic number at offset 0x0",
        ),
        (
            "bad magic",
            b"\0asn\x01\0\0\0".to_vec(),
            "not a WebAssembly module: no `\\0asm` magic number at offset 0x0 (found 00 61 73 6e)",
        ),
        (
            "bad version",
            b"\0asm\x02\0\0\0".to_vec(),
            "malformed module at offset 0x4: unknown binary version: 0x2",
        ),
        (
            "truncated",
            module[..debug_info.content.start + 20].to_vec(),
            "truncated: custom section `.debug_info`",
        ),
    ];
    for (what, bytes, cause) in cases {
        let dir = dir_with(&bytes);
        let out = run(dir.path(), &["m.wasm"]);
        let err = assert_error(&out, "m.wasm");
        assert!(
            err.starts_with(&format!("error: cannot split m.wasm: {cause}")),
            "{what}: {err}"
        );
        assert_eq!(
            fs::read(dir.path().join("m.wasm")).unwrap(),
            bytes,
            "{what}"
        );
        assert_eq!(listing(dir.path()), ["m.wasm"], "{what}");
    }

    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["missing.wasm"]);
    let err = assert_error(&out, "missing.wasm");
    assert_eq!(
        err,
        "error: cannot read missing.wasm: No such file or directory (os error 2)\n"
    );
    assert!(listing(dir.path()).is_empty());

    fs::create_dir(dir.path().join("d.wasm")).unwrap();
    let out = run(dir.path(), &["d.wasm"]);
    let err = assert_error(&out, "d.wasm");
    assert_eq!(err, "error: cannot read d.wasm: not a regular file\n");
    assert_eq!(listing(dir.path()), ["d.wasm"]);
}

#[test]
fn refuses_to_overwrite_module_with_debug_file() {
    let input = module_with_dwarf();
    let dir = dir_with(&input);
    for args in [
        &["m.wasm", "-d", "m.wasm"][..],
        &["m.wasm", "-o", "out.wasm", "-d", "./m.wasm"],
        &["m.wasm", "-o", "same.wasm", "-d", "same.wasm"],
    ] {
        let out = run(dir.path(), args);
        let err = assert_error(&out, "would overwrite");
        assert!(err.starts_with("error: the debug file "), "{err}");
        assert_eq!(fs::read(dir.path().join("m.wasm")).unwrap(), input);
    }
}

#[cfg(unix)]
#[test]
fn in_place_keeps_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = dir_with(&module_with_dwarf());
    let path = dir.path().join("m.wasm");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o751)).unwrap();
    let out = run(dir.path(), &["m.wasm"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o751);
}

/// In place, the module's own file becomes the debug file: no copy of the DWARF is written.
#[cfg(unix)]
#[test]
fn in_place_reuses_the_module_file_as_debug_file() {
    use std::os::unix::fs::MetadataExt;
    for existing_id in [false, true] {
        let mut input = module_with_dwarf();
        if existing_id {
            input.extend(custom("build_id", &[7; 16]));
        }
        let dir = dir_with(&input);
        let ino = fs::metadata(dir.path().join("m.wasm")).unwrap().ino();
        let out = run(dir.path(), &["m.wasm", "--out-dir", "sym"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let (_, _, debug_path) = parse_text(&stdout(&out));
        let debug_path = dir.path().join(debug_path);
        assert_eq!(fs::metadata(&debug_path).unwrap().ino(), ino);
        assert_eq!(fs::metadata(&debug_path).unwrap().nlink(), 1);
        let stripped = fs::read(dir.path().join("m.wasm")).unwrap();
        let debug = fs::read(&debug_path).unwrap();
        check_outputs(&input, &stripped, &debug);
        if existing_id {
            assert_eq!(debug, input);
        }
        assert_eq!(listing(dir.path()), ["m.wasm", "sym"]);
        assert_eq!(listing(&dir.path().join("sym")).len(), 1);
    }
}

/// Regression: cargo uplifts artifacts as hard links (target/.../app.wasm and deps/app-HASH.wasm
/// are one file); splitting one must not change the other, so such a module is copied.
#[cfg(unix)]
#[test]
fn hard_linked_module_is_copied_not_reused() {
    let input = module_with_dwarf();
    let dir = dir_with(&input);
    fs::hard_link(dir.path().join("m.wasm"), dir.path().join("deps.wasm")).unwrap();
    let out = run(dir.path(), &["m.wasm"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, _, debug_path) = parse_text(&stdout(&out));
    assert_eq!(fs::read(dir.path().join("deps.wasm")).unwrap(), input);
    check_outputs(
        &input,
        &fs::read(dir.path().join("m.wasm")).unwrap(),
        &fs::read(dir.path().join(debug_path)).unwrap(),
    );
}

/// The help text is pinned in tests/snapshots/help.txt; refresh it with `BLESS=1`.
#[test]
fn help_is_pinned() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = stdout(&out);
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "snapshots", "help.txt"]
        .iter()
        .collect();
    if std::env::var_os("BLESS").is_some() {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, &help).unwrap();
    }
    let expected = fs::read_to_string(&path).expect("run with BLESS=1 to create the snapshot");
    assert_eq!(
        help, expected,
        "help changed: rerun with BLESS=1 if intended"
    );
}
