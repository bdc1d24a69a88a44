//! End to end on the real fixtures: rewrite, run under Node with
//! host/run-wasi.mjs (the production host path), parse the memory it saved
//! as a core dump, and check frames, locals, globals and memory against facts
//! from the fixture sources.

use std::path::PathBuf;

use coredump::{CoreDump, TrapKind, Value};
use rewriter::Unwind;
use wasm_coredump_tests::{Fixture, NodeCommand, NodeRun, Profile, fixture, function_names};

const PROFILES: [Profile; 2] = [Profile::Debug, Profile::Release];
/// Both ways of unwinding.
const UNWINDS: [Unwind; 2] = [Unwind::Exceptions, Unwind::Checks];

/// The number of imported functions of a module.
fn imported_funcs(module: &[u8]) -> u32 {
    let mut count = 0;
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        if let Ok(wasmparser::Payload::ImportSection(imports)) = payload {
            for import in imports.into_imports().flatten() {
                if matches!(import.ty, wasmparser::TypeRef::Func(_)) {
                    count += 1;
                }
            }
        }
    }
    count
}

#[test]
fn recorded_offsets_agree_with_the_address_map() {
    for (profile, unwind) in PROFILES.into_iter().flat_map(|p| UNWINDS.map(|u| (p, u))) {
        let input = std::fs::read(fixture(Fixture::MyThing, profile)).unwrap();
        let options = rewriter::Options {
            unwind,
            ..Default::default()
        };
        let out = rewriter::rewrite(&input, &options).unwrap();
        let (run, _) = crash(Fixture::MyThing, profile, &all_locals(unwind), &[]);
        let core = run.core.unwrap();
        let dump = CoreDump::parse(&core).unwrap();
        let imported = imported_funcs(&input);
        let original = dump.original_code_offsets().unwrap();
        for (frame, &orig) in dump.threads()[0].frames.iter().zip(&original) {
            let index = (frame.func - imported) as usize;
            assert_eq!(
                out.address_map.map_code_offset(index, orig),
                Some(frame.code_offset),
                "{profile:?} {unwind:?}: func {} original offset {orig:#x}",
                frame.func
            );
        }
    }
}

#[test]
fn opt_in_checks_leave_real_programs_working() {
    let all = || rewriter::Options {
        record_locals: rewriter::RecordLocals::All,
        ..Default::default()
    };
    let options = rewriter::Options {
        check_memory: true,
        max_call_depth: Some(100_000),
        ..all()
    };
    for profile in PROFILES {
        let input = std::fs::read(fixture(Fixture::DeepRecursion, profile)).unwrap();
        let plain = rewriter::rewrite(&input, &all()).unwrap();
        let checked = rewriter::rewrite(&input, &options).unwrap();
        let mut frames = Vec::new();
        for (name, module) in [("plain", plain.module), ("checked", checked.module)] {
            let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("deep-{name}-{profile:?}.wasm"));
            std::fs::write(&path, module).unwrap();
            let run = NodeCommand::new(&path).run();
            assert_eq!(
                run.trap.as_deref(),
                Some("unreachable"),
                "{name}: {}",
                run.stderr
            );
            let core = run.core.unwrap();
            let dump = CoreDump::parse(&core).unwrap();
            frames.push(
                dump.threads()[0]
                    .frames
                    .iter()
                    .map(|f| (f.func, f.locals[..f.locals.len().min(1)].to_vec()))
                    .collect::<Vec<_>>(),
            );
        }
        assert_eq!(
            frames[0], frames[1],
            "{profile:?}: same functions and params"
        );
    }
}

/// The options of these tests: `unwind`, recording every local (most tests
/// check values the DWARF does not name).
fn all_locals(unwind: Unwind) -> rewriter::Options {
    rewriter::Options {
        unwind,
        record_locals: rewriter::RecordLocals::All,
        ..Default::default()
    }
}

/// Rewrites a fixture with `options` into the test's scratch directory.
fn rewritten(kind: Fixture, profile: Profile, options: &rewriter::Options) -> (PathBuf, Vec<u8>) {
    let input = std::fs::read(fixture(kind, profile)).unwrap();
    let out =
        rewriter::rewrite(&input, options).unwrap_or_else(|e| panic!("{kind} {profile:?}: {e}"));
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(&out.module)
        .unwrap_or_else(|e| panic!("{kind} {profile:?}: output invalid: {e}"));
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "rewritten-{}-{profile:?}-{:?}-{:?}.wasm",
        // (Not the package: the two lld fixtures are binaries of one.)
        kind.wasm_file_name().trim_end_matches(".wasm"),
        options.unwind,
        options.record_locals,
    ));
    std::fs::write(&path, &out.module).unwrap();
    (path, input)
}

/// Runs a fixture rewritten with `options`; returns the run and the function
/// names of the original module (the rewriter keeps every function index).
fn crash(
    kind: Fixture,
    profile: Profile,
    options: &rewriter::Options,
    args: &[&str],
) -> (NodeRun, std::collections::HashMap<u32, String>) {
    let (path, input) = rewritten(kind, profile, options);
    let mut command = NodeCommand::new(&path);
    command.args(args);
    if !kind.is_wasi_command() {
        command.invoke("process").invoke_args(&["10"]);
    }
    let run = command.run();
    assert!(
        run.trapped(),
        "{kind} {profile:?} did not trap: {}",
        run.stderr
    );
    (run, function_names(&input))
}

#[test]
fn named_locals_are_a_subset_of_all_with_the_same_values() {
    // The default records, at each site, the locals the DWARF names there
    // (and the params at cold sites): every value it records is the one a
    // rewrite recording every local records, frame by frame.
    for kind in Fixture::ALL {
        for profile in PROFILES {
            let named = rewriter::Options::default();
            let (named_run, _) = crash(kind, profile, &named, &[]);
            let (all_run, _) = crash(kind, profile, &all_locals(Unwind::default()), &[]);
            let (named_core, all_core) = (named_run.core.unwrap(), all_run.core.unwrap());
            let named = CoreDump::parse(&named_core).unwrap();
            let all = CoreDump::parse(&all_core).unwrap();
            let (named, all) = (&named.threads()[0].frames, &all.threads()[0].frames);
            let what = format!("{kind} {profile:?}");
            assert_eq!(named.len(), all.len(), "{what}");
            let mut recorded = 0;
            for (n, a) in named.iter().zip(all) {
                assert_eq!(n.func, a.func, "{what}");
                assert_eq!(n.locals.len(), a.locals.len(), "{what}");
                for (nv, av) in n.locals.iter().zip(&a.locals) {
                    if *nv != Value::Missing {
                        assert_eq!(nv, av, "{what}: func {}", n.func);
                        recorded += 1;
                    }
                }
            }
            assert!(recorded > 0, "{what}: some values recorded");
        }
    }
}

fn names(dump: &CoreDump<'_>, names: &std::collections::HashMap<u32, String>) -> Vec<String> {
    dump.threads()[0]
        .frames
        .iter()
        .map(|f| {
            names
                .get(&f.func)
                .cloned()
                .unwrap_or_else(|| format!("func[{}]", f.func))
        })
        .collect()
}

fn position(names: &[String], name: &str) -> usize {
    names
        .iter()
        .position(|n| n == name)
        .unwrap_or_else(|| panic!("{name} not among the frames {names:#?}"))
}

#[test]
fn mything_dump_has_the_source_frames_and_the_value() {
    for (profile, unwind) in PROFILES.into_iter().flat_map(|p| UNWINDS.map(|u| (p, u))) {
        let (run, fnames) = crash(Fixture::MyThing, profile, &all_locals(unwind), &[]);
        assert_eq!(
            run.trap.as_deref(),
            Some("unreachable"),
            "the original trap is re-raised"
        );
        let core = run.core.expect("core written");
        assert_eq!(&core[..4], b"\0asm");
        let dump = CoreDump::parse(&core).unwrap();
        let frames = &dump.threads()[0].frames;
        let names = names(&dump, &fnames);
        assert_eq!(
            names.last().map(String::as_str),
            Some("_start"),
            "{names:#?}"
        );
        let main = position(&names, "mything::main");
        if profile == Profile::Debug {
            let calculate = position(&names, "mything::calculate");
            let process = position(&names, "mything::process_thing");
            assert!(calculate < process && process < main, "{names:#?}");
            // `calculate(value: usize)`: value == 3 (src/main.rs:6 and :11).
            assert_eq!(frames[calculate].locals[0], Value::I32(3));
            // Every param and local is recorded, none as a placeholder.
            assert!(
                frames
                    .iter()
                    .all(|f| !f.locals.is_empty() || names[0] != "_start")
            );
        }
        let offsets = dump
            .original_code_offsets()
            .expect("original offsets recorded");
        assert_eq!(offsets.len(), frames.len());
    }
}

#[test]
fn every_fixture_leaves_a_parsable_dump_with_memory_intact() {
    for kind in Fixture::ALL {
        for (profile, unwind) in PROFILES.into_iter().flat_map(|p| UNWINDS.map(|u| (p, u))) {
            let (run, fnames) = crash(kind, profile, &all_locals(unwind), &[]);
            let core = run.core.as_deref().expect("core written");
            wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
                .validate_all(core)
                .unwrap_or_else(|e| panic!("{kind} {profile:?}: dump invalid: {e}"));
            let dump = CoreDump::parse(core).unwrap_or_else(|e| panic!("{kind} {profile:?}: {e}"));
            assert_eq!(dump.memories().len(), 1);
            assert!(!dump.globals().is_empty(), "globals recorded ({kind})");
            let names = names(&dump, &fnames);
            assert!(names.len() >= 2, "{kind} {profile:?}: {names:#?}");
            if let (Some(marker), Some(printed)) = (kind.marker(), run.marker()) {
                let found = dump
                    .read(0, printed.address.into(), marker.len() as u64)
                    .unwrap();
                assert_eq!(&*found, marker.as_bytes(), "{kind} {profile:?}: marker");
            }
            // Every fixture panics or aborts, which ends in an `unreachable` (wasi-libc's
            // `abort()` on WASI, std's own abort on wasm32-unknown-unknown); the trap's place is
            // frame 0's.
            let trap = dump.trap().expect("the trap is recorded");
            assert_eq!(trap.kind, TrapKind::Unreachable, "{kind} {profile:?}");
            let at = trap.location.expect("frame 0 recorded");
            let top = &dump.threads()[0].frames[0];
            assert_eq!((at.func, at.code_offset), (top.func, top.code_offset));
            // Only the fixture that fills its memory leaves its dump in the
            // dead stack; in the others, the bytes the header overwrote are
            // restored: address 0..16 reads as the program left it, not as
            // "\0asm".
            let low_region = dump.runtime_info().is_some_and(|r| r.low_region());
            assert_eq!(
                low_region,
                kind == Fixture::OutOfMemory,
                "{kind} {profile:?}"
            );
            if !low_region {
                assert_ne!(&*dump.read(0, 0, 4).unwrap(), b"\0asm", "{kind}");
            }
        }
    }
}

#[test]
fn deep_recursion_records_every_frame_with_its_own_locals() {
    for (profile, unwind) in PROFILES.into_iter().flat_map(|p| UNWINDS.map(|u| (p, u))) {
        let (run, fnames) = crash(Fixture::DeepRecursion, profile, &all_locals(unwind), &[]);
        let core = run.core.unwrap();
        let dump = CoreDump::parse(&core).unwrap();
        let frames = &dump.threads()[0].frames;
        let names = names(&dump, &fnames);
        let depths: Vec<Value> = frames
            .iter()
            .zip(&names)
            .filter(|(_, n)| *n == "deep_recursion::descend")
            .map(|(f, _)| f.locals[0])
            .collect();
        // `descend(depth)` from 150 down to 1; youngest first.
        let expected: Vec<Value> = (1..=150).map(Value::I32).collect();
        assert_eq!(depths, expected, "{profile:?} {unwind:?}");
    }
}

#[test]
fn a_wasm_division_trap_is_recorded_and_re_raised() {
    for profile in PROFILES {
        let (run, fnames) = crash(
            Fixture::DivZero,
            profile,
            &all_locals(Unwind::Auto),
            &["wrapping"],
        );
        assert_eq!(run.trap.as_deref(), Some("divide by zero"), "{profile:?}");
        let core = run.core.unwrap();
        let dump = CoreDump::parse(&core).unwrap();
        let trap = dump.trap().map(|t| t.kind);
        assert_eq!(trap, Some(TrapKind::IntegerDivideByZero), "{profile:?}");
        let names = names(&dump, &fnames);
        // `dividend / forged` (src/main.rs) divides in std's
        // `impl Div<NonZero<u32>> for u32`, which release inlines.
        let trapping = position(&names, "div_zero::divide_unchecked");
        let expected = match profile {
            Profile::Debug => 1,
            Profile::Release => 0,
        };
        assert_eq!(
            trapping, expected,
            "the youngest frame is the trapping one: {names:#?}"
        );
    }
}

#[test]
fn a_cdylib_export_is_an_entry_point() {
    for profile in PROFILES {
        let (run, fnames) = crash(
            Fixture::CdylibPanic,
            profile,
            &all_locals(Unwind::Auto),
            &[],
        );
        assert_eq!(run.trap.as_deref(), Some("unreachable"));
        let core = run.core.unwrap();
        let dump = CoreDump::parse(&core).unwrap();
        let names = names(&dump, &fnames);
        assert_eq!(
            names.last().map(String::as_str),
            Some("process"),
            "{names:#?}"
        );
    }
}
