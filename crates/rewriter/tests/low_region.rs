//! When memory cannot grow at a trap, a module with a stack-first layout
//! records its frames in the dead stack below the stack pointer and lays the
//! dump out there: hand-written modules whose memory is at its maximum, and
//! the out-of-memory fixture (a real Rust program that runs out of memory),
//! all run under Node.

use std::path::PathBuf;

mod common;

use common::{rewrite_pair, scratch};
use coredump::{CoreDump, Error, GlobalValue, Value};
use wasm_coredump_tests::{Fixture, NodeCommand, Profile, WASM_PAGE_SIZE, fixture, function_names};

/// LLVM's red zone, which the runtime keeps out of the low region.
const RED_ZONE: u64 = 128;

/// A stack-first module: the stack below `$__stack_pointer` (initially
/// `STACK`), a marker at `STACK`. `$outer(x)` takes 64 bytes of stack, writes
/// `0xfeedface` there and calls `$inner(x)`, which takes 32 more, writes `x`
/// there and traps; `$rec(n)` takes 16 bytes and recurses `n` times before
/// trapping. `MEMORY` is the memory type.
fn stack_first_module(memory: &str, stack: u32) -> String {
    format!(
        r#"
(module
  (memory (export "memory") {memory})
  (global $__stack_pointer (mut i32) (i32.const {stack}))
  (global $counter (mut i32) (i32.const 7))
  (data (i32.const {stack}) "wasm-coredump marker: low region")
  (func $inner (param $x i32)
    (local $sp i32)
    (local.set $sp (i32.sub (global.get $__stack_pointer) (i32.const 32)))
    (global.set $__stack_pointer (local.get $sp))
    (i32.store (local.get $sp) (local.get $x))
    unreachable)
  (func $outer (param $x i32) (result i32)
    (local $sp i32) (local $kept i64)
    (local.set $kept (i64.const -9000000000))
    (local.set $sp (i32.sub (global.get $__stack_pointer) (i32.const 64)))
    (global.set $__stack_pointer (local.get $sp))
    (i32.store (local.get $sp) (i32.const 0xfeedface))
    (call $inner (local.get $x))
    (global.set $__stack_pointer (i32.add (local.get $sp) (i32.const 64)))
    (i32.wrap_i64 (local.get $kept)))
  (func $rec (param $n i32)
    (local $sp i32)
    (local.set $sp (i32.sub (global.get $__stack_pointer) (i32.const 16)))
    (global.set $__stack_pointer (local.get $sp))
    (i32.store (local.get $sp) (local.get $n))
    (if (i32.eqz (local.get $n)) (then unreachable))
    (call $rec (i32.sub (local.get $n) (i32.const 1)))
    (global.set $__stack_pointer (i32.add (local.get $sp) (i32.const 16))))
  (func (export "run") (param i32) (result i32) (call $outer (local.get 0)))
  (func (export "recurse") (param i32) (call $rec (local.get 0)))
)
"#
    )
}

/// Writes the module and its rewrite (recording every local); returns their
/// paths.
fn modules(name: &str, wat: &str) -> (PathBuf, PathBuf) {
    let module = wat::parse_str(wat).unwrap();
    let options = rewriter::Options {
        record_locals: rewriter::RecordLocals::All,
        ..Default::default()
    };
    let (a, b, _) = rewrite_pair(name, &module, &options);
    (a, b)
}

/// The memory images of the original and of the rewritten module after
/// calling `export(arg)`, which traps in both.
fn images(original: &PathBuf, rewritten: &PathBuf, export: &str, arg: &str) -> (Vec<u8>, Vec<u8>) {
    let run = |module: &PathBuf| {
        let run = NodeCommand::new(module)
            .invoke(export)
            .invoke_args(&[arg])
            .run();
        assert_eq!(run.trap.as_deref(), Some("unreachable"), "{}", run.stderr);
        run.core.expect("memory saved")
    };
    (run(original), run(rewritten))
}

/// The stack pointer's value in the dump (global 0 in these modules).
fn stack_pointer(dump: &CoreDump<'_>) -> u64 {
    match dump.globals()[0].value {
        GlobalValue::I32(sp) => u64::from(sp as u32),
        ref other => panic!("stack pointer {other:?}"),
    }
}

/// The checks every low-region dump passes: it is a valid module, says so,
/// keeps the memory at and above the stack pointer byte for byte (`memory`:
/// the original's image at the same trap) and refuses reads below.
fn check_low_region_dump(dump: &CoreDump<'_>, image: &[u8], memory: &[u8]) {
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(image)
        .expect("the image is a valid module");
    let info = dump.runtime_info().expect("runtime section");
    assert!(info.low_region(), "{info:?}");
    let sp = stack_pointer(dump);
    let missing = dump.unavailable_memory().expect("unavailable range");
    assert_eq!(missing.start, 0);
    assert!(
        missing.end > 8 && missing.end <= sp - RED_ZONE,
        "{missing:?}"
    );
    assert_eq!(dump.memories()[0].ty.size(), memory.len() as u64);
    let kept = dump.read(0, sp, memory.len() as u64 - sp).unwrap();
    assert!(
        kept[..] == memory[sp as usize..],
        "memory above the stack pointer"
    );
    assert!(matches!(
        dump.read(0, missing.end - 1, 2),
        Err(Error::Unavailable { .. })
    ));
    dump.read(0, missing.end, 4)
        .expect("the dump holds memory from there");
}

#[test]
fn a_full_memory_leaves_a_dump_in_the_dead_stack() {
    let wat = stack_first_module("1 1", 0x8000);
    let (original, rewritten) = modules("low-full", &wat);
    let (memory, image) = images(&original, &rewritten, "run", "5");
    check_full_memory_dump(&memory, &image);
}

#[test]
fn without_a_name_the_first_mutable_i32_global_is_the_stack_pointer() {
    let wat = stack_first_module("1 1", 0x8000).replace("$__stack_pointer", "$sp");
    let (original, rewritten) = modules("low-unnamed", &wat);
    let (memory, image) = images(&original, &rewritten, "run", "5");
    check_full_memory_dump(&memory, &image);
}

/// The dump of `run(5)` in a one-page memory that cannot grow, with the
/// stack at 0x8000.
fn check_full_memory_dump(memory: &[u8], image: &[u8]) {
    assert_eq!(image.len(), WASM_PAGE_SIZE, "memory did not grow");
    let dump = CoreDump::parse(image).unwrap();
    check_low_region_dump(&dump, image, memory);
    assert!(!dump.runtime_info().unwrap().frames_dropped());
    let frames = &dump.threads()[0].frames;
    // $inner (0), $outer (1), the export (3).
    assert_eq!(frames.iter().map(|f| f.func).collect::<Vec<_>>(), [0, 1, 3]);
    assert_eq!(frames[0].locals, [Value::I32(5), Value::I32(0x8000 - 96)]);
    assert_eq!(
        frames[1].locals,
        [
            Value::I32(5),
            Value::I32(0x8000 - 64),
            Value::I64(-9000000000)
        ]
    );
    assert_eq!(stack_pointer(&dump), 0x8000 - 96);
    assert_eq!(dump.globals()[1].value, GlobalValue::I32(7));
    let marker = b"wasm-coredump marker: low region";
    assert_eq!(&*dump.read(0, 0x8000, marker.len() as u64).unwrap(), marker);
    assert_eq!(dump.original_code_offsets().map(|o| o.len()), Some(3));
}

#[test]
fn frames_that_do_not_fit_the_low_region_are_dropped_not_written_over_the_stack() {
    // 16 KiB of stack: room for a few dozen of the 300 frames.
    let wat = stack_first_module("1 1", 0x4000);
    let (original, rewritten) = modules("low-small", &wat);
    let (memory, image) = images(&original, &rewritten, "recurse", "300");
    let dump = CoreDump::parse(&image).unwrap();
    check_low_region_dump(&dump, &image, &memory);
    assert!(dump.runtime_info().unwrap().frames_dropped());
    let frames = &dump.threads()[0].frames;
    assert!(!frames.is_empty() && frames.len() < 300, "{}", frames.len());
    // The youngest frames are kept: $rec(0), $rec(1), ...
    for (n, frame) in frames.iter().enumerate() {
        assert_eq!((frame.func, frame.locals[0]), (2, Value::I32(n as i32)));
    }
}

#[test]
fn records_move_to_the_low_region_when_memory_stops_growing_midway() {
    // 256 KiB of stack and one page to grow: the 2002 frames (68 KB of raw
    // records) overflow that page, and move to the low region's top third.
    let wat = stack_first_module("5 6", 0x40000);
    let (original, rewritten) = modules("low-midway", &wat);
    let (memory, image) = images(&original, &rewritten, "recurse", "2000");
    assert_eq!(image.len(), 6 * WASM_PAGE_SIZE, "the records' page");
    let dump = CoreDump::parse(&image).unwrap();
    check_low_region_dump(&dump, &image, &memory);
    assert!(!dump.runtime_info().unwrap().frames_dropped());
    let frames = &dump.threads()[0].frames;
    assert_eq!(frames.len(), 2002);
    for (n, frame) in frames[..2001].iter().enumerate() {
        assert_eq!((frame.func, frame.locals[0]), (2, Value::I32(n as i32)));
    }
    assert_eq!(frames[2001].func, 4, "the export");
}

#[test]
fn a_finish_without_room_to_grow_moves_to_the_low_region() {
    // One page to grow: the 702 frames' raw records (24 KB) fit in it, the
    // dump made of them (twice that, and more) does not.
    let wat = stack_first_module("2 3", 0x10000);
    let (original, rewritten) = modules("low-finish", &wat);
    let (memory, image) = images(&original, &rewritten, "recurse", "700");
    assert_eq!(image.len(), 3 * WASM_PAGE_SIZE, "the records' page");
    let dump = CoreDump::parse(&image).unwrap();
    check_low_region_dump(&dump, &image, &memory);
    assert!(!dump.runtime_info().unwrap().frames_dropped());
    let frames = &dump.threads()[0].frames;
    assert_eq!(frames.len(), 702);
    assert_eq!(frames[700].locals[0], Value::I32(700));
}

#[test]
fn without_a_stack_first_layout_a_full_memory_leaves_no_dump() {
    // Data below the stack: the memory under the stack pointer is not free.
    let wat = stack_first_module("1 1", 0x8000)
        .replace(r#"(data (i32.const 32768)"#, r#"(data (i32.const 16)"#);
    assert!(wat.contains("(data (i32.const 16)"));
    let (original, rewritten) = modules("low-none", &wat);
    let (memory, image) = images(&original, &rewritten, "run", "5");
    assert_ne!(&image[..4], b"\0asm", "no dump");
    assert_eq!(image, memory, "and no byte changed");
}

#[test]
fn an_out_of_memory_crash_leaves_a_dump_with_every_frame() {
    for profile in Profile::ALL {
        let what = format!("out-of-memory {profile}");
        let input = std::fs::read(fixture(Fixture::OutOfMemory, profile)).unwrap();
        let options = rewriter::Options {
            record_locals: rewriter::RecordLocals::All,
            ..Default::default()
        };
        let out = rewriter::rewrite(&input, &options).unwrap();
        let rewritten = scratch(&format!("out-of-memory-{profile}.rewritten.wasm"));
        std::fs::write(&rewritten, &out.module).unwrap();
        let run_of = |module: &PathBuf| {
            let run = NodeCommand::new(module).run();
            assert_eq!(run.trap.as_deref(), Some("unreachable"), "{what}: {run:?}");
            assert!(
                run.stderr
                    .contains("memory allocation of 65536 bytes failed"),
                "{what}: {}",
                run.stderr
            );
            run
        };
        let before = run_of(&fixture(Fixture::OutOfMemory, profile));
        let after = run_of(&rewritten);
        let marker = after.marker().expect("marker line");
        let (memory, image) = (before.core.unwrap(), after.core.unwrap());
        assert_eq!(image.len(), 4 << 20, "{what}: memory at its maximum");
        let dump = CoreDump::parse(&image).unwrap_or_else(|e| panic!("{what}: {e}"));
        check_low_region_dump(&dump, &image, &memory);
        assert!(!dump.runtime_info().unwrap().frames_dropped(), "{what}");

        let found = dump
            .read(0, marker.address.into(), marker.text.len() as u64)
            .unwrap();
        assert_eq!(&*found, marker.text.as_bytes(), "{what}: marker");

        let names = function_names(&input);
        let frames = &dump.threads()[0].frames;
        let named: Vec<&str> = frames
            .iter()
            .map(|f| names.get(&f.func).map_or("?", String::as_str))
            .collect();
        let position = |name: &str| {
            named
                .iter()
                .position(|n| *n == name)
                .unwrap_or_else(|| panic!("{what}: no {name} in {named:#?}"))
        };
        let exhaust = position("out_of_memory::exhaust");
        assert_eq!(named.last(), Some(&"_start"), "{what}");
        let levels: Vec<(usize, Value)> = frames
            .iter()
            .enumerate()
            .filter(|(i, _)| named[*i] == "out_of_memory::nest")
            .map(|(i, f)| (i, f.locals[0]))
            .collect();
        // `nest(level)` from 1 (youngest) to 5, between `exhaust` and `main`.
        let expected: Vec<(usize, Value)> = (1..=5)
            .map(|level| (exhaust + level, Value::I32(level as i32)))
            .collect();
        assert_eq!(levels, expected, "{what}: {named:#?}");
        if profile == Profile::Debug {
            assert_eq!(position("out_of_memory::main"), exhaust + 6, "{named:#?}");
        }
        assert_eq!(frames[exhaust].locals[0], Value::I64(1_000_003), "{what}");
    }
}
