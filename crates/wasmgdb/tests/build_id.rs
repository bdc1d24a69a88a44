//! build_id end to end, as BuildId.md encodes it (a length, then the id): modules linked with
//! lld's `--build-id` and `--build-id=sha1` through the pipeline, and committed files of both
//! forms (the older tools' raw ids without a length, the current ones') opened with wasmgdb.
//!
//! Expected ids are decoded here from the sections' bytes; expected lines come from the sources.

use std::path::Path;
use std::process::{Command, Output};

use wasm_coredump_tests::{Fixture, NodeCommand, Profile, fixture, workspace_root};

/// The payload of the module's one `build_id` section.
fn build_id_payload(module: &[u8]) -> Vec<u8> {
    let mut payloads = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        if let Ok(wasmparser::Payload::CustomSection(reader)) = payload
            && reader.name() == "build_id"
        {
            payloads.push(reader.data().to_vec());
        }
    }
    assert_eq!(payloads.len(), 1, "one build_id section");
    payloads.remove(0)
}

/// How an id names its debug file: a 16-byte id as a hyphenated UUID, others as hex.
fn id_name(id: &[u8]) -> String {
    match uuid::Uuid::from_slice(id) {
        Ok(uuid) => uuid.hyphenated().to_string(),
        Err(_) => id.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

fn wasmgdb(args: &[&Path], extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wasmgdb"))
        .args(args)
        .args(["-batch", "-ex", "bt"])
        .args(extra)
        .output()
        .unwrap()
}

/// Runs `bt` and returns stdout, after checking that wasmgdb warned of nothing.
fn backtrace(module: &Path, dump: &Path, extra: &[&str]) -> (String, String) {
    let out = wasmgdb(&[module, dump], extra);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    (stdout, stderr)
}

/// The 1-based line of `source` holding `snippet`.
fn line_of(source: &str, snippet: &str) -> usize {
    source.lines().position(|l| l.contains(snippet)).unwrap() + 1
}

/// Both lld ids go through the pipeline. The split of the module lld linked keeps lld's id and
/// names the debug file by the id bytes after the length; the rewriter derives a new id from
/// lld's; the split of the rewritten module keeps that one. wasmgdb finds each debug file next
/// to its stripped module and through `--debug-dir`.
#[test]
fn lld_build_ids_go_through_the_pipeline() {
    let line = Fixture::LldBuildId.source_location("total / bytes.len()", "total");
    let line = line.rsplit_once(':').unwrap().0; // bt shows file:line
    let mut rewritten_ids = Vec::new();
    for (kind, len) in [(Fixture::LldBuildId, 16), (Fixture::LldBuildIdSha1, 20)] {
        let input = std::fs::read(fixture(kind, Profile::Debug)).unwrap();
        let payload = build_id_payload(&input);
        assert_eq!(
            usize::from(payload[0]),
            len,
            "{kind}: lld wrote the length first"
        );
        assert_eq!(payload.len(), len + 1);
        let lld_id = &payload[1..];

        let dir = tempfile::tempdir().unwrap();
        let (shipped, symbols) = (dir.path().join("shipped"), dir.path().join("symbols"));
        std::fs::create_dir_all(&shipped).unwrap();
        std::fs::create_dir_all(&symbols).unwrap();

        // The original module, split: lld's id is kept and names the debug file.
        let split = debuginfo_split::split(&input, &Default::default()).unwrap();
        assert_eq!(split.build_id().as_bytes(), lld_id, "{kind}");
        let original_debug = format!("debug-{}.wasm", id_name(lld_id));
        assert_eq!(split.build_id().debug_file_name(), original_debug);
        assert_eq!(
            split.debug().to_vec(),
            input,
            "{kind}: the debug file is the input"
        );
        let original = shipped.join("original.wasm");
        std::fs::write(&original, split.stripped().to_vec()).unwrap();
        assert_eq!(
            build_id_payload(&std::fs::read(&original).unwrap()),
            payload
        );

        // The rewritten module, split: the rewriter's new id, derived from lld's.
        let rewritten = rewriter::rewrite(&input, &rewriter::Options::default()).unwrap();
        let again = rewriter::rewrite(&input, &rewriter::Options::default()).unwrap();
        assert_eq!(rewritten.build_id, again.build_id, "{kind}: deterministic");
        assert_ne!(rewritten.build_id.as_bytes(), lld_id);
        rewritten_ids.push(rewritten.build_id.clone());
        let split = debuginfo_split::split(&rewritten.module, &Default::default()).unwrap();
        let new_id = split.build_id().as_bytes().to_vec();
        assert_eq!(new_id, rewritten.build_id.as_bytes());
        let app = shipped.join("app.wasm");
        std::fs::write(&app, split.stripped().to_vec()).unwrap();
        let app_payload = build_id_payload(&std::fs::read(&app).unwrap());
        assert_eq!(
            app_payload,
            [&[16][..], &new_id].concat(),
            "{kind}: BuildId.md form"
        );
        let app_debug = format!("debug-{}.wasm", id_name(&new_id));

        let run = NodeCommand::new(&app).run();
        assert!(run.trapped(), "{kind}: {}", run.stderr);
        let dump = shipped.join("app.coredump");
        std::fs::write(&dump, run.core.unwrap()).unwrap();

        for (module, debug_file) in [(&app, &app_debug), (&original, &original_debug)] {
            let debug_bytes = match module == &app {
                true => split.debug().to_vec(),
                false => input.clone(),
            };
            // Next to the module.
            let beside = shipped.join(debug_file);
            std::fs::write(&beside, &debug_bytes).unwrap();
            let (bt, _) = backtrace(module, &dump, &[]);
            assert!(bt.contains(" in lld_build_id::checksum ("), "{kind}: {bt}");
            assert!(bt.contains(&format!(" at {line}\n")), "{kind}: {bt}");
            // In a --debug-dir.
            std::fs::rename(&beside, symbols.join(debug_file)).unwrap();
            let (by_dir, _) = backtrace(module, &dump, &["--debug-dir", symbols.to_str().unwrap()]);
            assert_eq!(by_dir, bt, "{kind}");
            // Nowhere: no DWARF, so no file and line.
            let out = wasmgdb(&[module.as_path(), dump.as_path()], &[]);
            let without = String::from_utf8_lossy(&out.stdout);
            assert!(
                !without.contains(&format!(" at {line}\n")),
                "{kind}: {without}"
            );
            std::fs::remove_file(symbols.join(debug_file)).unwrap();
        }
    }
    // The same code with two lld ids: the rewriter's ids differ, as they derive from lld's.
    assert_ne!(rewritten_ids[0], rewritten_ids[1]);
}

/// Files made by the older tools (tests/build-id-forms/raw: raw 16-byte ids without a length)
/// and by the current ones (…/spec), from one C program: both open, each finds its debug file by
/// the id, and only the raw form gets a note.
#[test]
fn committed_files_of_both_build_id_forms_open() {
    let forms = workspace_root().join("tests").join("build-id-forms");
    let source = std::fs::read_to_string(forms.join("crash.c")).unwrap();
    let trap = line_of(&source, "__builtin_trap()");
    let call = line_of(&source, "int clamped = clamp(value);");
    for (form, raw) in [("raw", true), ("spec", false)] {
        let dir = forms.join(form);
        let module = dir.join("app.wasm");
        let payload = build_id_payload(&std::fs::read(&module).unwrap());
        let id = match raw {
            true => &payload[..],
            false => {
                assert_eq!(payload[0], 16, "{form}: the length first");
                &payload[1..]
            }
        };
        assert_eq!(id.len(), 16, "{form}");
        let debug_file = dir.join(format!("debug-{}.wasm", id_name(id)));
        assert!(debug_file.is_file(), "{form}: {}", debug_file.display());
        let dump = dir.join("app.coredump");
        assert_eq!(
            build_id_payload(&std::fs::read(&dump).unwrap()),
            payload,
            "{form}: the dump has the module's build_id section"
        );

        let (bt, notes) = backtrace(&module, &dump, &[]);
        assert!(
            // The files predate the trap section: the trap is unknown.
            bt.starts_with("Program terminated with wasm trap: unknown.\n#0  0x")
                && bt.contains(&format!(" in clamp (value=-5) at crash.c:{trap}\n")),
            "{form}: {bt}"
        );
        assert!(
            bt.contains(&format!(" in check (value=-5) at crash.c:{call}\n")),
            "{form}: {bt}"
        );
        let note = format!(
            "build_id section has no length prefix (an older wasm-coredump wrote it): read as the \
             raw id {}",
            id_name(id)
        );
        assert_eq!(
            notes.matches(&note).count(),
            if raw { 2 } else { 0 },
            "{form}: {notes}"
        );
    }
}
