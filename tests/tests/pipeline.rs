//! The whole build pipeline on real fixtures: rewrite, split the DWARF into
//! `debug-<UUID>.wasm`, run the stripped module under Node, and symbolize the
//! dump through the debug file found by its build_id: the frames equal those
//! given by the unsplit rewritten module.

use std::path::PathBuf;

use coredump::CoreDump;
use debuginfo::{DebugInfo, DwarfSource, Module};
use wasm_coredump_tests::{Fixture, NodeCommand, Profile, fixture};

/// (function, file, line) of every symbolized frame, inlined ones included.
fn symbolize(info: &DebugInfo, dump: &CoreDump<'_>) -> Vec<(String, Option<String>, Option<u32>)> {
    dump.threads()[0]
        .frames
        .iter()
        .flat_map(|f| info.frames(f.func, f.code_offset).unwrap())
        .map(|f| {
            let location = f.location.as_ref();
            (
                f.function.name.clone(),
                location.and_then(|l| l.file.clone()),
                location.and_then(|l| l.line),
            )
        })
        .collect()
}

#[test]
fn a_split_rewritten_module_symbolizes_through_its_debug_file() {
    for kind in [Fixture::MyThing, Fixture::SerdeRegex] {
        for profile in [Profile::Debug, Profile::Release] {
            let input = std::fs::read(fixture(kind, profile)).unwrap();
            let rewritten = rewriter::rewrite(&input, &rewriter::Options::default()).unwrap();
            let split = debuginfo_split::split(&rewritten.module, &Default::default()).unwrap();
            assert_eq!(
                split.build_id(),
                &rewritten.build_id,
                "the rewriter's build_id is kept"
            );

            let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("pipeline-{}-{profile}", kind.package()));
            let debug_dir = dir.join("debug");
            std::fs::create_dir_all(&debug_dir).unwrap();
            let app = dir.join("app.wasm");
            std::fs::write(&app, split.stripped().to_vec()).unwrap();
            let debug_file = debug_dir.join(format!("debug-{}.wasm", split.build_id()));
            std::fs::write(&debug_file, split.debug().to_vec()).unwrap();

            let run = NodeCommand::new(&app).run();
            assert!(run.trapped(), "{kind} {profile}: {}", run.stderr);
            let core = run.core.unwrap();
            let dump = CoreDump::parse(&core).unwrap();
            // BuildId.md: the payload is the id's length, then the id.
            let mut payload = vec![16];
            payload.extend_from_slice(split.build_id().as_bytes());
            assert_eq!(
                dump.custom_section("build_id"),
                Some(&payload[..]),
                "the dump names the module that wrote it"
            );

            let via_debug_file = DebugInfo::load(&app, std::slice::from_ref(&debug_dir)).unwrap();
            assert!(
                matches!(via_debug_file.dwarf_source(), DwarfSource::DebugFile(Some(p)) if *p == debug_file),
                "{kind} {profile}: {:?}",
                via_debug_file.dwarf_source()
            );
            let unsplit = DebugInfo::new(Module::parse(rewritten.module.clone()).unwrap()).unwrap();
            let frames = symbolize(&via_debug_file, &dump);
            assert_eq!(frames, symbolize(&unsplit, &dump), "{kind} {profile}");
            assert!(
                frames.iter().any(|(_, file, _)| file.is_some()),
                "{kind}: {frames:#?}"
            );
        }
    }
}

/// A stripped module whose debug file is not named by its build_id is found
/// through its `external_debug_info` section (a relative path here).
#[test]
fn debug_file_found_through_external_debug_info() {
    let input = std::fs::read(fixture(Fixture::MyThing, Profile::Debug)).unwrap();
    let mut options = debuginfo_split::SplitOptions::default();
    options.external_url = Some("symbols/{uuid}.wasm".into());
    let split = debuginfo_split::split(&input, &options).unwrap();
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("external-debug-info");
    std::fs::create_dir_all(dir.join("symbols")).unwrap();
    let app = dir.join("app.wasm");
    std::fs::write(&app, split.stripped().to_vec()).unwrap();
    let debug = dir
        .join("symbols")
        .join(format!("{}.wasm", split.build_id()));
    std::fs::write(&debug, split.debug().to_vec()).unwrap();

    let info = debuginfo::DebugInfo::load(&app, &[]).unwrap();
    assert_eq!(
        info.dwarf_source(),
        &debuginfo::DwarfSource::DebugFile(Some(debug))
    );
    assert!(info.has_dwarf());
}
