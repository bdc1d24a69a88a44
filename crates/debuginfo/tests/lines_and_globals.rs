//! File names as recorded, line ranges (`info line`) and global variables, checked against the
//! fixtures' sources: MyThing's `calculate` is line 16 (`value - 10`); deep-recursion keeps
//! `static MARKER: &str = "wasm-coredump marker: deep-recursion"` on line 14.

use coredump::CoreDump;
use debuginfo::{DebugInfo, Frame, Module};
use wasm_coredump_tests::{Fixture, Profile, fixture, wasmtime_dump};

fn load(kind: Fixture, profile: Profile) -> DebugInfo {
    DebugInfo::new(Module::read(fixture(kind, profile)).unwrap()).unwrap()
}

/// The innermost frame of each Wasm frame of the committed Wasmtime dump of `kind`.
fn stack(info: &DebugInfo, kind: Fixture) -> Vec<(u32, u32, Frame)> {
    let bytes = std::fs::read(wasmtime_dump(kind)).unwrap();
    let dump = CoreDump::parse(&bytes).unwrap();
    dump.threads()[0]
        .frames
        .iter()
        .map(|f| {
            let frames = info.frames(f.func, f.code_offset).unwrap();
            (f.func, f.code_offset, frames.into_iter().next().unwrap())
        })
        .collect()
}

/// The 1-based line of the fixture's source that contains `snippet`.
fn line_of(kind: Fixture, snippet: &str) -> u32 {
    let loc = kind.source_location(snippet, snippet);
    loc.split(':').nth(1).unwrap().parse().unwrap()
}

#[test]
fn files_are_named_as_recorded_and_by_full_path() {
    let kind = Fixture::MyThing;
    let info = load(kind, Profile::Debug);
    let stack = stack(&info, kind);
    let (_, _, calculate) = stack
        .iter()
        .find(|(_, _, f)| f.function.name == "mything::calculate")
        .unwrap();
    let location = calculate.location.as_ref().unwrap();
    let recorded = kind.source_path_in_build();
    assert_eq!(location.recorded_file.as_deref(), Some(recorded.as_str()));
    assert_eq!(location.shown_file(), Some(recorded.as_str()));
    let file = location.file.as_deref().unwrap();
    assert!(file.starts_with('/') && file.ends_with(&format!("/{recorded}")));
    assert!(std::path::Path::new(file).is_file(), "{file}");
    assert_eq!(
        location.to_string(),
        format!("{recorded}:{}:5", line_of(kind, "value - 10"))
    );
    // The standard library's units record paths relative to `/rustc/<commit>`.
    let (_, _, panic) = stack
        .iter()
        .find(|(_, _, f)| f.function.name.starts_with("core::panicking::"))
        .unwrap();
    let location = panic.location.as_ref().unwrap();
    let recorded = location.recorded_file.as_deref().unwrap();
    assert!(recorded.starts_with("library/core/src/"), "{recorded}");
    let file = location.file.as_deref().unwrap();
    assert!(
        file.starts_with("/rustc/") && file.ends_with(&format!("/{recorded}")),
        "{file}"
    );
}

#[test]
fn a_line_range_is_the_first_statement_row_of_the_line() {
    let kind = Fixture::MyThing;
    let info = load(kind, Profile::Debug);
    let (func, code_offset, calculate) = stack(&info, kind)
        .into_iter()
        .find(|(_, _, f)| f.function.name == "mything::calculate")
        .unwrap();
    let line = line_of(kind, "value - 10");
    let location = calculate.location.clone().unwrap();
    assert_eq!(location.line, Some(line));
    let address = info.dwarf_address(func, code_offset).unwrap();
    let range = info.line_range(address, &location).unwrap().unwrap();
    assert!(range.start < range.end, "{range:?}");
    let line_at = |a: u64| {
        info.frames_for_address(a).unwrap()[0]
            .location
            .as_ref()
            .and_then(|l| l.line)
    };
    for a in range.clone() {
        assert_eq!(line_at(a), Some(line), "{a:#x} in {range:?}");
    }
    // No code of `calculate` before the range is on that line.
    let layout = info.code_layout().unwrap();
    let body_start = layout.body_range(func).unwrap().start - layout.code_payload_start();
    assert!(body_start < range.start);
    for a in body_start..range.start {
        assert_ne!(line_at(a), Some(line), "{a:#x}");
    }
    // A location without a file has no range.
    let mut no_file = location.clone();
    no_file.file = None;
    assert_eq!(info.line_range(address, &no_file).unwrap(), None);
}

#[test]
fn global_variables_are_found_by_qualified_and_plain_name() {
    let kind = Fixture::DeepRecursion;
    let marker = kind.marker().unwrap();
    for profile in [Profile::Debug, Profile::Release] {
        let info = load(kind, profile);
        let global = info
            .global_variables()
            .unwrap()
            .iter()
            .find(|g| g.name == "deep_recursion::MARKER")
            .unwrap_or_else(|| panic!("{profile}: no MARKER"))
            .clone();
        assert_eq!(global.short_name, "MARKER");
        assert_eq!(global.decl_line, Some(line_of(kind, "static MARKER")));
        assert_eq!(info.type_name(global.ty).unwrap(), "&str");
        assert!(
            global
                .linkage_name
                .as_deref()
                .unwrap()
                .starts_with("_ZN14deep_recursion6MARKER")
        );
        for name in ["MARKER", "deep_recursion::MARKER"] {
            assert_eq!(
                info.find_global_variable(name, None).unwrap(),
                Some(&global),
                "{profile}: {name}"
            );
        }
        assert_eq!(
            info.find_global_variable("other::MARKER", None).unwrap(),
            None
        );
        assert_eq!(info.find_global_variable("descend", None).unwrap(), None);
        if profile == Profile::Debug {
            // The `&str` at the address points at the marker string, in the dump's memory.
            let bytes = std::fs::read(wasmtime_dump(kind)).unwrap();
            let dump = CoreDump::parse(&bytes).unwrap();
            let fat = dump.read(0, global.address.unwrap(), 8).unwrap();
            let ptr = u32::from_le_bytes(fat[..4].try_into().unwrap());
            let len = u32::from_le_bytes(fat[4..].try_into().unwrap());
            assert_eq!(len as usize, marker.len());
            let text = dump.read(0, u64::from(ptr), u64::from(len)).unwrap();
            assert_eq!(&*text, marker.as_bytes());
        }
    }
}
