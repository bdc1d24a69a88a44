//! The room the runtime makes for a dump covers every byte it writes, for any
//! count of globals, frames and locals (issue #14: a module with 31,000
//! globals ran past it and lost its dump and its trap); when memory cannot
//! grow to make it, the host still sees the original trap. Generated modules
//! run under Node.

use std::path::Path;
use std::time::{Duration, Instant};

mod common;

use common::rewrite_pair;
use coredump::{CoreDump, GlobalValue, TrapKind, Value};
use rewriter::Options;
use wasm_coredump_tests::{NodeCommand, NodeRun};

/// The module's globals, of each type in turn.
const GLOBALS: usize = 40_000;
/// How deep `$rec` recurses before `$wide` traps.
const DEPTH: usize = 10_000;
/// The frames of a run `DEPTH` deep: `$wide`, `$rec`s, the export.
const FRAMES: usize = DEPTH + 3;
/// The locals of `$wide`, besides its param.
const WIDE_LOCALS: usize = 400;
/// The index of `$wide`, the function that traps.
const WIDE: u32 = 1;
/// The index of `$rec`, the recursion.
const REC: u32 = 2;
/// The index of the export `run`.
const RUN: u32 = 3;

/// The value numbered `i` (a global's, or a local of `$wide`'s): an `i32`,
/// `i64`, `f32` or `f64` in turn, with bits all over its range.
fn value(i: usize) -> Value {
    let n = i as u64 + 1;
    match i % 4 {
        0 => Value::I32(n.wrapping_mul(0x9e37_79b9) as i32),
        1 => Value::I64(n.wrapping_mul(0x9e37_79b9_7f4a_7c15) as i64),
        2 => Value::F32((n as f32 * -0.75).to_bits()),
        _ => Value::F64((n as f64 * 1.25e300).to_bits()),
    }
}

/// The type of [`value`]`(i)`, in the text format.
fn type_name(i: usize) -> &'static str {
    ["i32", "i64", "f32", "f64"][i % 4]
}

/// An instruction pushing `v`, bit for bit.
fn push(v: Value) -> String {
    match v {
        Value::I32(v) => format!("(i32.const {v})"),
        Value::I64(v) => format!("(i64.const {v})"),
        Value::F32(bits) => format!("(f32.reinterpret_i32 (i32.const {}))", bits as i32),
        Value::F64(bits) => format!("(f64.reinterpret_i64 (i64.const {}))", bits as i64),
        Value::Missing => unreachable!("no value"),
    }
}

/// How the module traps.
#[derive(Clone, Copy, Debug)]
enum Trap {
    /// `unreachable`.
    Unreachable,
    /// `i32.div_u` by zero.
    DivideByZero,
    /// A load past the end of memory (a dump with `--check-memory` only).
    OutOfBounds,
}

impl Trap {
    /// The `kind` argument of `run` that traps so.
    fn arg(self) -> &'static str {
        match self {
            Trap::Unreachable => "0",
            Trap::DivideByZero => "1",
            Trap::OutOfBounds => "2",
        }
    }

    /// V8's message for the trap.
    fn message(self) -> &'static str {
        match self {
            Trap::Unreachable => "unreachable",
            Trap::DivideByZero => "divide by zero",
            Trap::OutOfBounds => "memory access out of bounds",
        }
    }

    /// The trap as the dump records it.
    fn kind(self) -> TrapKind {
        match self {
            Trap::Unreachable => TrapKind::Unreachable,
            Trap::DivideByZero => TrapKind::IntegerDivideByZero,
            Trap::OutOfBounds => TrapKind::OutOfBoundsMemoryAccess,
        }
    }
}

/// The module: [`GLOBALS`] mutable globals, all zero until `run(kind, depth)`
/// sets global `i` to [`value`]`(i)`; `run` then calls `$rec(depth)`, which
/// recurses down to `$rec(0)` (each frame holds `n` and `3n` as an i64),
/// which calls `$wide(kind)`: it sets its local `1 + j` to
/// `value(GLOBALS + j)` and traps as `kind` says. `memory` is the memory
/// type; with `stack`, global 0 starts at that address and a data segment
/// lies there (a stack-first layout, see `low_region.rs`).
fn module(memory: &str, stack: Option<u32>) -> Vec<u8> {
    let mut wat = format!("(module\n(memory (export \"memory\") {memory})\n");
    for i in 0..GLOBALS {
        let init = match (i, stack) {
            (0, Some(stack)) => stack.to_string(),
            _ => "0".to_string(),
        };
        let ty = type_name(i);
        wat += &format!("(global (mut {ty}) ({ty}.const {init}))\n");
    }
    if let Some(stack) = stack {
        wat += &format!("(data (i32.const {stack}) \"stack top\")\n");
    }
    wat += "(func $set\n";
    for i in 0..GLOBALS {
        wat += &format!("(global.set {i} {})\n", push(value(i)));
    }
    wat += ")\n(func $wide (param $kind i32) (result i32)\n";
    for j in 0..WIDE_LOCALS {
        wat += &format!("(local {})", type_name(GLOBALS + j));
    }
    for j in 0..WIDE_LOCALS {
        wat += &format!("\n(local.set {} {})", 1 + j, push(value(GLOBALS + j)));
    }
    wat += r#"
  (if (i32.eqz (local.get $kind)) (then unreachable))
  (if (i32.eq (local.get $kind) (i32.const 1))
    (then (drop (i32.div_u (i32.const 1) (i32.sub (local.get $kind) (i32.const 1))))))
  (i32.load (i32.const -4)))
(func $rec (param $n i32) (param $kind i32) (result i32)
  (local $triple i64)
  (local.set $triple (i64.mul (i64.extend_i32_u (local.get $n)) (i64.const 3)))
  (if (result i32) (i32.eqz (local.get $n))
    (then (call $wide (local.get $kind)))
    (else (i32.add
      (call $rec (i32.sub (local.get $n) (i32.const 1)) (local.get $kind))
      (i32.wrap_i64 (local.get $triple))))))
"#;
    wat += r#"(func (export "run") (param $kind i32) (param $depth i32) (result i32)
  (call $set) (call $rec (local.get $depth) (local.get $kind))))"#;
    wat::parse_str(&wat).unwrap()
}

/// The rewrites the tests run, recording every local (the widest frames):
/// the default one and with `--check-memory`.
fn rewrites() -> [(&'static str, Options); 2] {
    let all = || Options {
        record_locals: rewriter::RecordLocals::All,
        ..Options::default()
    };
    let check_memory = Options {
        check_memory: true,
        ..all()
    };
    [("default", all()), ("check-memory", check_memory)]
}

/// Runs `run(trap, depth)` of the module at `path` under Node, which must
/// raise that trap.
fn run(path: &Path, trap: Trap, depth: usize, what: &str) -> NodeRun {
    let run = NodeCommand::new(path)
        .invoke("run")
        .invoke_args(&[trap.arg(), &depth.to_string()])
        .run();
    assert_eq!(
        run.trap.as_deref(),
        Some(trap.message()),
        "{what}: the original trap: {}",
        run.stderr
    );
    run
}

/// Rewrites `module` as `name` and runs `run(trap, depth)`: (the memory
/// Node saved, the rewritten module, how long it took).
fn crash(
    name: &str,
    module: &[u8],
    options: &Options,
    trap: Trap,
    depth: usize,
) -> (Vec<u8>, Vec<u8>, Duration) {
    let started = Instant::now();
    let (_, rewritten, out) = rewrite_pair(name, module, options);
    let image = run(&rewritten, trap, depth, name)
        .core
        .expect("memory saved");
    (image, out.module, started.elapsed())
}

/// The payload of custom section `name` of a module.
fn custom_section<'a>(module: &'a [u8], name: &str) -> Option<&'a [u8]> {
    wasmparser::Parser::new(0)
        .parse_all(module)
        .find_map(|payload| match payload.ok()? {
            wasmparser::Payload::CustomSection(s) if s.name() == name => Some(s.data()),
            _ => None,
        })
}

/// A global's value as the dump holds it.
fn global(v: Value) -> GlobalValue {
    match v {
        Value::I32(v) => GlobalValue::I32(v),
        Value::I64(v) => GlobalValue::I64(v),
        Value::F32(bits) => GlobalValue::F32(bits),
        Value::F64(bits) => GlobalValue::F64(bits),
        Value::Missing => unreachable!("no value"),
    }
}

/// Checks what every dump of a run `depth` deep holds, however many frames
/// it kept: every global with the value `run` set, the youngest frames
/// (`$wide` with every local, then `$rec(0)`, `$rec(1)`, ..., the export),
/// the trap and the module's build id. Returns how many frames it kept.
fn check_dump(image: &[u8], module: &[u8], trap: Trap, depth: usize, what: &str) -> usize {
    assert_eq!(&image[..4], b"\0asm", "{what}: a dump");
    let dump = CoreDump::parse(image).unwrap_or_else(|e| panic!("{what}: {e}"));
    let globals: Vec<GlobalValue> = dump.globals().iter().map(|g| g.value).collect();
    let expected: Vec<GlobalValue> = (0..GLOBALS).map(|i| global(value(i))).collect();
    assert!(globals == expected, "{what}: the globals");
    let frames = &dump.threads()[0].frames;
    let wide = &frames[0];
    assert_eq!(wide.func, WIDE, "{what}");
    let locals: Vec<Value> = (0..WIDE_LOCALS).map(|j| value(GLOBALS + j)).collect();
    let kind = Value::I32(trap.arg().parse().unwrap());
    assert_eq!(wide.locals[0], kind, "{what}");
    assert!(wide.locals[1..] == locals[..], "{what}: $wide's locals");
    for (n, frame) in frames[1..].iter().take(depth + 1).enumerate() {
        let triple = Value::I64(3 * n as i64);
        assert_eq!(frame.func, REC, "{what}: frame {}", n + 1);
        assert_eq!(frame.locals, [Value::I32(n as i32), kind, triple], "{what}");
    }
    if let Some(export) = frames.get(depth + 2) {
        assert_eq!(export.func, RUN, "{what}");
    }
    assert_eq!(dump.trap().map(|t| t.kind), Some(trap.kind()), "{what}");
    assert_eq!(
        dump.custom_section("build_id"),
        custom_section(module, "build_id"),
        "{what}: the build id"
    );
    let info = dump.runtime_info().expect("runtime section");
    assert!(!info.low_region(), "{what}");
    assert_eq!(info.frames_dropped(), frames.len() < depth + 3, "{what}");
    frames.len()
}

#[test]
fn forty_thousand_globals_ten_thousand_frames_and_a_wide_one_fit_the_dump() {
    let module = module("16", None);
    for (mode, options) in rewrites() {
        let mut traps = vec![Trap::Unreachable, Trap::DivideByZero];
        if options.check_memory {
            traps.push(Trap::OutOfBounds);
        }
        for trap in traps {
            let what = format!("{mode}, {trap:?}");
            let name = format!("room-{mode}");
            let (image, rewritten, took) = crash(&name, &module, &options, trap, DEPTH);
            let frames = check_dump(&image, &rewritten, trap, DEPTH, &what);
            assert_eq!(frames, FRAMES, "{what}: every frame");
            eprintln!(
                "{what}: a {} byte dump, rewritten and run in {took:.2?}",
                image.len()
            );
        }
    }
}

/// Issue #14: with few frames to spare room, the dump of 40,000 globals ran
/// past the room made for it (which counted no bytes per global).
#[test]
fn a_dump_of_few_frames_has_room_for_every_global() {
    // One page holds less than the dump's header; sixteen hold it.
    for memory in ["1", "16"] {
        let module = module(memory, None);
        for (mode, options) in rewrites() {
            let what = format!("memory {memory}, {mode}");
            let name = format!("room-few-{memory}-{mode}");
            let (image, rewritten, _) = crash(&name, &module, &options, Trap::Unreachable, 0);
            let frames = check_dump(&image, &rewritten, Trap::Unreachable, 0, &what);
            assert_eq!(frames, 3, "{what}");
        }
    }
}

#[test]
fn frames_that_do_not_fit_are_dropped_the_oldest_first() {
    // Room for the globals' part of the dump and some of the frames.
    let module = module("8 32", None);
    for (mode, options) in rewrites() {
        let what = format!("memory 8 32, {mode}");
        let name = format!("room-some-{mode}");
        let (image, rewritten, _) = crash(&name, &module, &options, Trap::Unreachable, DEPTH);
        let frames = check_dump(&image, &rewritten, Trap::Unreachable, DEPTH, &what);
        assert!(frames > 2 && frames < FRAMES, "{what}: {frames} frames");
        eprintln!("{what}: {frames} frames kept");
    }
}

#[test]
fn a_memory_that_cannot_grow_raises_the_original_trap_and_changes_nothing() {
    // One page: less than the dump's header; eight: the header fits but the
    // dump does not; one page with a stack-first layout, whose dead stack is
    // too small for the dump.
    let cases = [
        ("small", "1 1", None),
        ("header", "8 8", None),
        ("stack-first", "1 1", Some(0x8000)),
    ];
    for (case, memory, stack) in cases {
        let module = module(memory, stack);
        let name = format!("room-full-{case}");
        let original = common::scratch(&format!("{name}.wasm"));
        std::fs::write(&original, &module).unwrap();
        for trap in [Trap::Unreachable, Trap::DivideByZero] {
            let what = format!("{case} memory {memory}, {trap:?}");
            let memory = run(&original, trap, DEPTH, &what)
                .core
                .expect("memory saved");
            for (mode, options) in rewrites() {
                let (image, _, _) =
                    crash(&format!("{name}-{mode}"), &module, &options, trap, DEPTH);
                assert_ne!(&image[..4], b"\0asm", "{what}, {mode}: no dump");
                assert!(image == memory, "{what}, {mode}: no byte changed");
            }
        }
    }
}
