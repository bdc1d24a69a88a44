//! Symbolizing real fixtures: the committed Wasmtime dump of MyThing against its debug build,
//! and inlined frames in release builds. Expected names and lines come from the fixture sources.

use coredump::CoreDump;
use debuginfo::gimli::{self, Reader as _};
use debuginfo::{DebugInfo, Frame, Module, NameSource};
use wasm_coredump_tests::{Fixture, Profile, fixture, wasmtime_dump};

fn load(kind: Fixture, profile: Profile) -> DebugInfo {
    DebugInfo::new(Module::read(fixture(kind, profile)).unwrap()).unwrap()
}

/// Every frame of the committed dump, symbolized: one `Vec<Frame>` per Wasm frame.
fn symbolize_dump(info: &DebugInfo, kind: Fixture) -> Vec<Vec<Frame>> {
    let bytes = std::fs::read(wasmtime_dump(kind)).unwrap();
    let dump = CoreDump::parse(&bytes).unwrap();
    dump.threads()[0]
        .frames
        .iter()
        .map(|f| info.frames(f.func, f.code_offset).unwrap())
        .collect()
}

/// The source line of `snippet` in the fixture (1-based), read from the source.
fn line_of(kind: Fixture, snippet: &str) -> u32 {
    let loc = kind.source_location(snippet, snippet.trim());
    loc.split(':').nth(1).unwrap().parse().unwrap()
}

/// The code offsets of every `call` in function `func` of `module`.
fn call_sites(module: &[u8], func: u32) -> Vec<u32> {
    use wasmparser::{Operator, Parser, Payload, TypeRef};
    let mut imported = 0;
    let mut index = 0;
    for payload in Parser::new(0).parse_all(module) {
        match payload.unwrap() {
            Payload::ImportSection(r) => {
                imported += r
                    .into_imports()
                    .filter(|i| matches!(i.as_ref().unwrap().ty, TypeRef::Func(_)))
                    .count() as u32
            }
            Payload::CodeSectionEntry(body) => {
                if imported + index == func {
                    let start = body.range().start;
                    let mut ops = body.get_operators_reader().unwrap();
                    let mut out = Vec::new();
                    while !ops.eof() {
                        let (op, offset) = ops.read_with_offset().unwrap();
                        if matches!(op, Operator::Call { .. } | Operator::CallIndirect { .. }) {
                            out.push((offset - start) as u32);
                        }
                    }
                    return out;
                }
                index += 1;
            }
            _ => {}
        }
    }
    panic!("no function {func}")
}

/// A frame's (name, line, inlined), for comparing against source facts.
fn summary(f: &Frame) -> (String, Option<u32>, bool) {
    (
        f.function.name.clone(),
        f.location.as_ref().and_then(|l| l.line),
        f.inlined,
    )
}

fn mything_lines() -> [u32; 3] {
    let k = Fixture::MyThing;
    [
        line_of(k, "value - 10"),
        line_of(k, "calculate(thing.value)"),
        line_of(k, "process_thing(&thing)"),
    ]
}

#[test]
fn mything_debug_dump_symbolizes_to_the_source_lines() {
    let info = load(Fixture::MyThing, Profile::Debug);
    let stack = symbolize_dump(&info, Fixture::MyThing);
    let [calc, process, main] = mything_lines();
    assert_eq!(
        (calc, process, main),
        (16, 11, 7),
        "the fixture source moved"
    );
    // The debug build inlines nothing in these three: one frame per Wasm frame.
    let outer: Vec<&Frame> = stack.iter().map(|frames| frames.last().unwrap()).collect();
    let i = outer
        .iter()
        .position(|f| f.function.name == "mything::calculate")
        .expect("calculate is on the stack");
    let expected = [
        ("mything::calculate".to_string(), Some(calc), false),
        ("mything::process_thing".to_string(), Some(process), false),
        ("mything::main".to_string(), Some(main), false),
    ];
    for (frame, expected) in outer[i..i + 3].iter().zip(&expected) {
        assert_eq!(&summary(frame), expected);
        let file = frame.location.as_ref().unwrap().file.as_deref().unwrap();
        assert!(file.ends_with("mything/src/main.rs"), "{file}");
        assert_eq!(frame.function.source, NameSource::Dwarf);
        assert!(
            frame
                .function
                .raw
                .as_deref()
                .unwrap()
                .starts_with("_ZN7mything")
        );
        assert!(frame.scope.is_some());
    }
    // Everything below the trap has a name; the outermost frame is `_start`.
    for frames in &stack {
        assert!(!frames.is_empty());
        for f in frames {
            assert_ne!(f.function.source, NameSource::FunctionIndex, "{f}");
            assert!(!f.function.name.contains("17h"), "hash left in {f}");
        }
    }
    assert_eq!(
        stack.last().unwrap().last().unwrap().function.name,
        "_start"
    );
}

#[test]
fn every_wasmtime_dump_symbolizes_with_locations_in_the_fixture() {
    for &kind in wasm_coredump_tests::WASMTIME_DUMPS {
        let info = load(kind, Profile::Debug);
        let stack = symbolize_dump(&info, kind);
        let in_fixture = stack
            .iter()
            .flatten()
            .filter(|f| {
                f.location
                    .as_ref()
                    .and_then(|l| l.file.as_deref())
                    .is_some_and(|file| file.ends_with(&kind.source_path_in_build()))
            })
            .count();
        assert!(
            in_fixture > 0,
            "{kind}: no frame in {}",
            kind.source_path_in_build()
        );
        // No URL joined onto a directory (wasi-libc names files `wasisdk://...`).
        for f in stack.iter().flatten() {
            if let Some(file) = f.location.as_ref().and_then(|l| l.file.as_deref()) {
                assert!(file.matches("://").count() <= 1, "{kind}: {file}");
            }
        }
    }
}

#[test]
fn release_build_shows_the_inlined_calls() {
    // Release inlines `calculate` and `process_thing` into `main`: the call to the overflow
    // panic in `main` symbolizes to all three, innermost first.
    let path = fixture(Fixture::MyThing, Profile::Release);
    let module = std::fs::read(&path).unwrap();
    let info = load(Fixture::MyThing, Profile::Release);
    let names = wasm_coredump_tests::function_names(&module);
    let main = *names
        .iter()
        .find(|(_, n)| *n == "mything::main")
        .expect("main is a function of its own")
        .0;
    let [calc, process, main_line] = mything_lines();
    let expected = vec![
        ("mything::calculate".to_string(), Some(calc), true),
        ("mything::process_thing".to_string(), Some(process), true),
        ("mything::main".to_string(), Some(main_line), false),
    ];
    let chains: Vec<Vec<_>> = call_sites(&module, main)
        .into_iter()
        .map(|off| {
            info.frames(main, off)
                .unwrap()
                .iter()
                .map(summary)
                .collect()
        })
        .collect();
    assert!(chains.contains(&expected), "{chains:#?}");
    // The inlined frames have scopes too (for their variables).
    let off = call_sites(&module, main)
        .into_iter()
        .find(|&off| info.frames(main, off).unwrap().len() == 3)
        .unwrap();
    let frames = info.frames(main, off).unwrap();
    assert!(frames[0].scope.unwrap().is_inlined());
    assert!(!frames[2].scope.unwrap().is_inlined());
}

/// The module without its `.debug_*` sections (they follow Code, so no code moves), and with a
/// `build_id` section appended.
fn strip_debug(module: &[u8], build_id: &[u8]) -> Vec<u8> {
    let mut out = module[..8].to_vec();
    let mut reader = wasmparser::BinaryReader::new(module, 0);
    reader.read_bytes(8).unwrap();
    while !reader.eof() {
        let start = reader.current_position();
        let id = reader.read_u8().unwrap();
        let size = reader.read_var_u32().unwrap() as usize;
        let payload_start = reader.current_position();
        let payload = reader.read_bytes(size).unwrap();
        let debug = id == 0
            && wasmparser::BinaryReader::new(payload, payload_start as u64)
                .read_string()
                .unwrap()
                .starts_with(".debug_");
        if !debug {
            out.extend_from_slice(&module[start..payload_start + size]);
        }
    }
    append_custom(&mut out, "build_id", build_id);
    out
}

fn append_custom(out: &mut Vec<u8>, name: &str, data: &[u8]) {
    let mut section = wasm_encoder::Module::new();
    section.section(&wasm_encoder::CustomSection {
        name: name.into(),
        data: data.into(),
    });
    out.extend_from_slice(&section.finish()[8..]);
}

#[test]
fn a_stripped_module_finds_its_debug_file() {
    let original = std::fs::read(fixture(Fixture::MyThing, Profile::Debug)).unwrap();
    let id: Vec<u8> = (1..=16).collect();
    let stripped = strip_debug(&original, &id);
    let mut debug_file = original.clone();
    append_custom(&mut debug_file, "build_id", &id);

    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app.wasm");
    std::fs::write(&app, &stripped).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let name = "debug-01020304-0506-0708-090a-0b0c0d0e0f10.wasm";
    std::fs::write(elsewhere.path().join(name), &debug_file).unwrap();

    // Not beside the module and no directory given: names only.
    let names_only = DebugInfo::load(&app, &[]).unwrap();
    assert!(!names_only.has_dwarf());
    // Found in a search directory.
    let info = DebugInfo::load(&app, &[elsewhere.path().to_path_buf()]).unwrap();
    assert_eq!(
        info.dwarf_source(),
        &debuginfo::DwarfSource::DebugFile(Some(elsewhere.path().join(name)))
    );
    let direct = load(Fixture::MyThing, Profile::Debug);
    let bytes = std::fs::read(wasmtime_dump(Fixture::MyThing)).unwrap();
    let dump = CoreDump::parse(&bytes).unwrap();
    for f in &dump.threads()[0].frames {
        assert_eq!(
            info.frames(f.func, f.code_offset).unwrap(),
            direct.frames(f.func, f.code_offset).unwrap()
        );
        // Names only: the name section still names every frame.
        let fallback = names_only.frames(f.func, f.code_offset).unwrap();
        assert_eq!(fallback.len(), 1);
        assert_eq!(fallback[0].function.source, NameSource::NameSection);
    }
    // Found beside the module.
    std::fs::write(dir.path().join(name), &debug_file).unwrap();
    let beside = DebugInfo::load(&app, &[]).unwrap();
    assert_eq!(
        beside.dwarf_source(),
        &debuginfo::DwarfSource::DebugFile(Some(dir.path().join(name)))
    );

    // A debug file of another build is refused.
    let mut other = original.clone();
    append_custom(&mut other, "build_id", &[9; 16]);
    let err = DebugInfo::with_debug_file(
        Module::parse(stripped).unwrap(),
        Module::parse(other).unwrap(),
    )
    .unwrap_err();
    assert!(
        matches!(err, debuginfo::Error::BuildIdMismatch { .. }),
        "{err}"
    );
}

#[test]
fn names_fall_back_to_the_name_section_the_export_the_import_then_the_index() {
    let wasm = wat::parse_str(
        r#"(module
            (import "env" "f" (func $imported))
            (import "env" "g" (func))
            (func $_ZN7mything9calculate17h48b2df9b7a4424baE (export "calc") unreachable)
            (func unreachable)
            (func (export "run") (export "also_run") unreachable))"#,
    )
    .unwrap();
    let info = DebugInfo::new(Module::parse(wasm).unwrap()).unwrap();
    assert!(!info.has_dwarf());
    let named = info.frames(2, 0).unwrap();
    assert_eq!(named.len(), 1);
    assert_eq!(named[0].function.name, "mything::calculate");
    assert_eq!(named[0].function.source, NameSource::NameSection);
    assert_eq!(named[0].location, None);
    let unnamed = info.frames(3, 0).unwrap();
    assert_eq!(unnamed[0].function.name, "func[3]");
    assert_eq!(unnamed[0].function.source, NameSource::FunctionIndex);
    // No `name` section entry: the first export, then an import's `module.field`.
    let exported = info.frames(4, 0).unwrap();
    assert_eq!(exported[0].function.name, "run");
    assert_eq!(exported[0].function.source, NameSource::Export);
    let imported = info.function_name(1);
    assert_eq!(imported.name, "env.g");
    assert_eq!(imported.source, NameSource::Import);
    assert_eq!(info.function_name(0).name, "imported");
    assert!(matches!(
        info.frames(0, 0),
        Err(debuginfo::Error::Layout(
            debuginfo::wasm_layout::Error::ImportedFunction {
                func: 0,
                imported: 2
            }
        ))
    ));
    assert!(matches!(
        info.frames(5, 0),
        Err(debuginfo::Error::Layout(
            debuginfo::wasm_layout::Error::NoSuchFunction { func: 5, count: 5 }
        ))
    ));
    assert!(matches!(
        info.frames(2, 100),
        Err(debuginfo::Error::Layout(
            debuginfo::wasm_layout::Error::CodeOffsetOutOfRange { .. }
        ))
    ));
}

#[test]
fn code_layout_matches_the_dwarf_of_a_real_module() {
    // LLVM's `DW_AT_low_pc` of a function is the DWARF address of its body's first byte (the
    // locals declaration, right after the size LEB): code offset 0.
    let bytes = std::fs::read(fixture(Fixture::MyThing, Profile::Debug)).unwrap();
    let names = wasm_coredump_tests::function_names(&bytes);
    let func = *names
        .iter()
        .find(|(_, n)| *n == "mything::calculate")
        .unwrap()
        .0;
    let info = load(Fixture::MyThing, Profile::Debug);
    let layout = info.code_layout().unwrap();
    let low_pc = low_pc_of(&info, "calculate");
    assert_eq!(layout.dwarf_address(func, 0).unwrap(), low_pc);
    assert_eq!(
        layout.code_payload_start(),
        Module::read(fixture(Fixture::MyThing, Profile::Debug))
            .unwrap()
            .code_layout()
            .unwrap()
            .code_payload_start()
    );
    for func in
        layout.imported_functions()..layout.imported_functions() + layout.defined_functions()
    {
        let body = layout.body_range(func).unwrap();
        let address = layout.dwarf_address(func, 0).unwrap();
        assert_eq!(layout.file_offset(address), body.start);
        assert_eq!(
            layout.code_location(address),
            Some(debuginfo::CodeLocation {
                func,
                code_offset: 0
            })
        );
    }
}

/// The `DW_AT_low_pc` of the subprogram called `name`.
fn low_pc_of(info: &DebugInfo, name: &str) -> u64 {
    let dwarf = info.dwarf();
    let mut units = dwarf.units();
    while let Some(header) = units.next().unwrap() {
        let unit = dwarf.unit(header).unwrap();
        let mut entries = unit.entries();
        while let Some(entry) = entries.next_dfs().unwrap() {
            if entry.tag() != gimli::DW_TAG_subprogram {
                continue;
            }
            let Some(n) = entry.attr_value(gimli::DW_AT_name) else {
                continue;
            };
            let found = dwarf.attr_string(&unit, n).unwrap();
            if found.to_string_lossy().unwrap() == name
                && let Some(gimli::AttributeValue::Addr(a)) = entry.attr_value(gimli::DW_AT_low_pc)
            {
                return a;
            }
        }
    }
    panic!("no {name}")
}

#[test]
fn external_debug_info_is_exposed_not_fetched() {
    let mut wasm = wat::parse_str("(module)").unwrap();
    let url = "https://symbols.example.com/debug-x.wasm";
    let mut payload = vec![url.len() as u8];
    payload.extend_from_slice(url.as_bytes());
    append_custom(&mut wasm, "external_debug_info", &payload);
    let module = Module::parse(wasm.clone()).unwrap();
    assert_eq!(module.external_debug_info().unwrap().as_deref(), Some(url));

    let mut bad = wat::parse_str("(module)").unwrap();
    append_custom(&mut bad, "external_debug_info", &[10, b'x']);
    let err = Module::parse(bad)
        .unwrap()
        .external_debug_info()
        .unwrap_err();
    assert!(err.to_string().contains("external_debug_info"), "{err}");
}

#[test]
fn debug_info_is_send() {
    fn send<T: Send>() {}
    send::<DebugInfo>();
    send::<Module>();
    send::<debuginfo::Error>();
}

/// A `.debug_info` cut short in its first unit: the error gimli reports as "unexpected end of
/// input" names the section and a file offset inside it.
#[test]
fn dwarf_that_ends_early_is_reported_at_its_section_and_offset() {
    let original = std::fs::read(fixture(Fixture::MyThing, Profile::Debug)).unwrap();
    let module = Module::parse(original.clone()).unwrap();
    let info = module.custom_section(".debug_info").unwrap();
    // The unit header (length, version, unit type, address size, abbreviation offset) and a
    // few bytes of its first entry.
    let cut = &info[..16];
    let mut truncated = Vec::new();
    let mut reader = wasmparser::BinaryReader::new(&original, 0);
    reader.read_bytes(8).unwrap();
    truncated.extend_from_slice(&original[..8]);
    while !reader.eof() {
        let start = reader.current_position();
        reader.read_u8().unwrap();
        let size = reader.read_var_u32().unwrap() as usize;
        let end = reader.current_position() + size;
        reader.read_bytes(size).unwrap();
        let section = &original[start..end];
        if Some(start)
            == module
                .layout()
                .custom_section(".debug_info")
                .map(|s| s.range.start)
        {
            append_custom(&mut truncated, ".debug_info", cut);
        } else {
            truncated.extend_from_slice(section);
        }
    }
    let truncated = Module::parse(truncated).unwrap();
    let data = truncated.custom_section_range(".debug_info").unwrap();
    let err = DebugInfo::new(truncated)
        .and_then(|info| {
            let frames = info.frames(0, 0)?;
            Ok(frames.len())
        })
        .unwrap_err()
        .to_string();
    let prefix = "malformed DWARF: unexpected end of input (at .debug_info offset 0x";
    assert!(err.starts_with(prefix), "{err}");
    let offset = usize::from_str_radix(err[prefix.len()..].trim_end_matches(')'), 16).unwrap();
    assert!(
        data.start <= offset && offset <= data.end,
        "{offset:#x} in {data:?}"
    );
}
