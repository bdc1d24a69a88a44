//! Every trap kind the rewriter handles, on small hand-written modules run by
//! Node: the rewritten module raises the same trap as the original (V8's
//! message compared), and the dump records the trapping frame and its caller
//! with their locals.

use std::path::PathBuf;
use std::process::Command;

mod common;

use common::{rewrite_pair, scratch};
use coredump::{CoreDump, TrapKind, Value};
use rewriter::{Options, Unwind};
use wasm_coredump_tests::NodeCommand;

/// The code offset of the `nth` instruction of function `func`'s body in `module` that may trap
/// with `kind`: found here with wasmparser, independently of the rewriter. Stack exhaustion
/// happens on entry: at the body's first instruction.
fn trapping_offset(module: &[u8], func: u32, kind: TrapKind, nth: usize) -> u32 {
    use wasmparser::Operator as O;
    let traps = |op: &O<'_>| match kind {
        TrapKind::Unreachable => matches!(op, O::Unreachable),
        TrapKind::IntegerDivideByZero | TrapKind::IntegerOverflow => matches!(
            op,
            O::I32DivU | O::I32DivS | O::I32RemU | O::I32RemS | O::I64DivU | O::I64DivS
        ),
        TrapKind::InvalidConversionToInteger => {
            matches!(op, O::I32TruncF32S | O::I64TruncF64U)
        }
        TrapKind::OutOfBoundsMemoryAccess => matches!(op, O::I32Load { .. } | O::F64Store { .. }),
        TrapKind::CallStackExhausted => true,
        _ => matches!(op, O::CallIndirect { .. }),
    };
    let mut index = 0;
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        let wasmparser::Payload::CodeSectionEntry(body) = payload.unwrap() else {
            continue;
        };
        if index == func {
            let start = body.range().start;
            let ops = body
                .get_operators_reader()
                .unwrap()
                .into_iter_with_offsets();
            let mut trapping = ops.map(Result::unwrap).filter(|(op, _)| traps(op));
            let (_, at) = trapping.nth(nth).unwrap();
            return (at - start) as u32;
        }
        index += 1;
    }
    panic!("no function {func}")
}

/// Checks the dump's trap: its kind, and its place is frame 0's, whose original offset is that
/// of the `nth` instruction of its function in the original module that can trap so.
fn assert_trap(dump: &CoreDump<'_>, kind: TrapKind, original: &[u8], nth: usize, what: &str) {
    let trap = dump
        .trap()
        .unwrap_or_else(|| panic!("{what}: no trap section"));
    assert_eq!(trap.kind, kind, "{what}");
    let at = trap
        .location
        .unwrap_or_else(|| panic!("{what}: no location"));
    let frame = &dump.threads()[0].frames[0];
    assert_eq!(
        (at.func, at.code_offset),
        (frame.func, frame.code_offset),
        "{what}"
    );
    assert_eq!(
        at.original_code_offset,
        dump.original_code_offsets().unwrap()[0],
        "{what}"
    );
    let expected = trapping_offset(original, at.func, kind, nth);
    assert_eq!(
        at.original_code_offset, expected,
        "{what}: the trapping instruction"
    );
}

/// Both ways of unwinding; each test runs with each.
const UNWINDS: [Unwind; 2] = [Unwind::Exceptions, Unwind::Checks];

/// `inner(x)` traps in the way `op` does; `outer_NAME(x)` calls it from
/// `outer`, which holds the local 41.
const MODULE: &str = r#"
(module
  (memory (export "memory") 1)
  (func $div_u (param i32) (result i32) (i32.div_u (i32.const 7) (local.get 0)))
  (func $rem_s (param i32) (result i32) (i32.rem_s (i32.const 7) (local.get 0)))
  (func $div_s (param i32) (result i32) (i32.div_s (i32.const 0x80000000) (local.get 0)))
  (func $div_u64 (param i32) (result i32)
    (i32.wrap_i64 (i64.div_u (i64.const 7) (i64.extend_i32_u (local.get 0)))))
  (func $trunc (param i32) (result i32) (i32.trunc_f32_s (f32.const nan)))
  (func $trunc_big (param i32) (result i32) (i64.trunc_f64_u (f64.const -5)) (drop) (i32.const 0))
  (func $unreachable (param i32) (result i32) unreachable)
  (func $outer (param $f i32) (param $x i32) (result i32)
    (local $kept i32) (local $wide i64) (local $real f64)
    (local.set $kept (i32.const 41))
    (local.set $wide (i64.const -9000000000))
    (local.set $real (f64.const 2.5))
    (call_indirect (param i32) (result i32) (local.get $x) (local.get $f)))
  (table 7 funcref)
  (elem (i32.const 0) $div_u $rem_s $div_s $div_u64 $trunc $trunc_big $unreachable)
  (func (export "div_u") (param i32) (result i32) (call $outer (i32.const 0) (local.get 0)))
  (func (export "rem_s") (param i32) (result i32) (call $outer (i32.const 1) (local.get 0)))
  (func (export "div_s") (param i32) (result i32) (call $outer (i32.const 2) (local.get 0)))
  (func (export "div_u64") (param i32) (result i32) (call $outer (i32.const 3) (local.get 0)))
  (func (export "trunc") (param i32) (result i32) (call $outer (i32.const 4) (local.get 0)))
  (func (export "trunc_big") (param i32) (result i32) (call $outer (i32.const 5) (local.get 0)))
  (func (export "unreachable") (param i32) (result i32) (call $outer (i32.const 6) (local.get 0)))
)
"#;

/// Writes `wat` and its rewrite with `options` to scratch files named
/// after `name` and the unwinding mode, and checks that the rewrite unwinds
/// as asked: (original, rewritten).
fn rewrite_in_mode(name: &str, wat: &str, options: &Options) -> (PathBuf, PathBuf) {
    let mode = format!("{:?}", options.unwind).to_lowercase();
    let module = wat::parse_str(wat).unwrap();
    let (a, b, out) = rewrite_pair(&format!("{name}.{mode}"), &module, options);
    assert_eq!(out.stats.unwind, options.unwind, "{name}");
    (a, b)
}

/// Runs an ES module `script` in Node with `args` (its `process.argv[1..]`);
/// returns its trimmed stdout, failing the test if it fails.
fn node_script(script: &str, args: &[&PathBuf]) -> String {
    let out = Command::new(std::env::var("NODE").unwrap_or_else(|_| "node".into()))
        .args(["--input-type=module", "-e", script])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `wat` and its rewrite with the default options but `unwind`, recording
/// every local (these modules have no DWARF to name any), in files named
/// after `name`.
fn rewrite_all_locals(name: &str, wat: &str, unwind: Unwind) -> (PathBuf, PathBuf) {
    let options = Options {
        unwind,
        record_locals: rewriter::RecordLocals::All,
        ..Options::default()
    };
    rewrite_in_mode(name, wat, &options)
}

#[test]
fn each_trap_is_re_raised_unchanged_and_recorded() {
    UNWINDS.into_iter().for_each(each_trap_with);
}

fn each_trap_with(unwind: Unwind) {
    let (original, rewritten) = rewrite_all_locals("traps-each", MODULE, unwind);
    // (export, argument that makes it trap, the inner function's index)
    // (export, argument that makes it trap, the inner function's index, the trap, in the
    // spec's words)
    let cases = [
        ("div_u", "0", 0, TrapKind::IntegerDivideByZero),
        ("rem_s", "0", 1, TrapKind::IntegerDivideByZero),
        ("div_s", "-1", 2, TrapKind::IntegerOverflow),
        ("div_u64", "0", 3, TrapKind::IntegerDivideByZero),
        ("trunc", "1", 4, TrapKind::InvalidConversionToInteger),
        ("trunc_big", "1", 5, TrapKind::InvalidConversionToInteger),
        ("unreachable", "1", 6, TrapKind::Unreachable),
    ];
    let module = std::fs::read(&original).unwrap();
    for (export, arg, inner, kind) in cases {
        let before = NodeCommand::new(&original)
            .invoke(export)
            .invoke_args(&[arg])
            .core(false)
            .run();
        let after = NodeCommand::new(&rewritten)
            .invoke(export)
            .invoke_args(&[arg])
            .run();
        assert!(before.trapped(), "{unwind:?} {export}: the original traps");
        assert_eq!(
            after.trap, before.trap,
            "{unwind:?} {export}: the same trap"
        );
        let core = after.core.expect("core written");
        let dump = CoreDump::parse(&core).unwrap_or_else(|e| panic!("{unwind:?} {export}: {e}"));
        let frames = &dump.threads()[0].frames;
        let funcs: Vec<u32> = frames.iter().map(|f| f.func).collect();
        // inner, $outer (7), the export (8 + case index).
        assert_eq!(funcs, [inner, 7, 8 + inner], "{unwind:?} {export}");
        assert_trap(&dump, kind, &module, 0, &format!("{unwind:?} {export}"));
        assert_eq!(
            frames[0].locals[0],
            Value::I32(arg.parse().unwrap()),
            "{unwind:?} {export}"
        );
        assert_eq!(
            frames[1].locals,
            [
                Value::I32(inner as i32),
                Value::I32(arg.parse().unwrap()),
                Value::I32(41),
                Value::I64(-9000000000),
                Value::F64(2.5f64.to_bits()),
            ],
            "{unwind:?} {export}: $outer's params and locals"
        );
    }
}

#[test]
fn a_second_trap_keeps_the_first_dump() {
    UNWINDS.into_iter().for_each(second_trap_with);
}

fn second_trap_with(unwind: Unwind) {
    let (_, rewritten) = rewrite_all_locals("traps-second", MODULE, unwind);
    let script = r#"
import { readFileSync, writeFileSync } from 'node:fs';
const [module, first, second] = process.argv.slice(1);
const { instance } = await WebAssembly.instantiate(readFileSync(module));
const e = instance.exports;
const messages = [];
for (const [name, out] of [['div_u', first], ['unreachable', second]]) {
  try { e[name](0); messages.push('no trap'); } catch (err) { messages.push(err.message); }
  writeFileSync(out, new Uint8Array(e.memory.buffer));
}
// Still usable for calls that do not trap.
messages.push(String(e.div_u(7)));
console.log(JSON.stringify(messages));
"#;
    let (first, second) = (
        scratch(&format!("first.{unwind:?}.core")),
        scratch(&format!("second.{unwind:?}.core")),
    );
    assert_eq!(
        node_script(script, &[&rewritten, &first, &second]),
        r#"["divide by zero","unreachable","1"]"#
    );
    let first = std::fs::read(first).unwrap();
    let second = std::fs::read(second).unwrap();
    let frames = |bytes: &[u8]| CoreDump::parse(bytes).unwrap().threads()[0].frames.clone();
    assert_eq!(frames(&first)[0].func, 0, "div_u's dump");
    assert_eq!(frames(&second), frames(&first), "the first dump is kept");
}

/// The opt-in checks: an out-of-bounds load or store and a runaway recursion.
const OPT_IN: &str = r#"
(module
  (memory (export "memory") 1)
  (func $load (param i32) (result i32) (i32.load offset=4 (local.get 0)))
  (func $store (param i32) (result i32) (f64.store offset=2 (local.get 0) (f64.const 1.5)) (i32.const 0))
  (func $rec (param i32) (result i32) (call $rec (i32.add (local.get 0) (i32.const 1))))
  (func (export "load") (param i32) (result i32) (call $load (local.get 0)))
  (func (export "store") (param i32) (result i32) (call $store (local.get 0)))
  (func (export "recurse") (param i32) (result i32) (call $rec (local.get 0)))
)
"#;

#[test]
fn opt_in_checks_turn_memory_faults_and_stack_exhaustion_into_dumps() {
    UNWINDS.into_iter().for_each(opt_in_checks_with);
}

fn opt_in_checks_with(unwind: Unwind) {
    let options = Options {
        check_memory: true,
        max_call_depth: Some(1000),
        unwind,
        ..Default::default()
    };
    let (a, b) = rewrite_in_mode("opt-in", OPT_IN, &options);
    let module = std::fs::read(&a).unwrap();

    for (export, arg, inner) in [("load", "65533", 0), ("store", "65530", 1)] {
        let before = NodeCommand::new(&a)
            .invoke(export)
            .invoke_args(&[arg])
            .core(false)
            .run();
        let after = NodeCommand::new(&b)
            .invoke(export)
            .invoke_args(&[arg])
            .run();
        assert_eq!(before.trap.as_deref(), Some("memory access out of bounds"));
        assert_eq!(after.trap, before.trap, "{unwind:?} {export}");
        let dump = CoreDump::parse(after.core.as_deref().unwrap()).unwrap();
        let frames = &dump.threads()[0].frames;
        assert_eq!(
            frames.iter().map(|f| f.func).collect::<Vec<_>>(),
            [inner, 3 + inner]
        );
        assert_eq!(frames[0].locals[0], Value::I32(arg.parse().unwrap()));
        let what = format!("{unwind:?} {export}");
        assert_trap(&dump, TrapKind::OutOfBoundsMemoryAccess, &module, 0, &what);
    }
    // In bounds, the checked accesses work as before.
    let ok = NodeCommand::new(&b)
        .invoke("load")
        .invoke_args(&["65528"])
        .run();
    assert_eq!(ok.result(), Some(0), "{}", ok.stderr);

    let before = NodeCommand::new(&a)
        .invoke("recurse")
        .invoke_args(&["0"])
        .core(false)
        .run();
    let after = NodeCommand::new(&b)
        .invoke("recurse")
        .invoke_args(&["0"])
        .run();
    assert_eq!(
        before.trap.as_deref(),
        Some("Maximum call stack size exceeded")
    );
    assert_eq!(after.trap, before.trap, "the host sees the same RangeError");
    let dump = CoreDump::parse(after.core.as_deref().unwrap()).unwrap();
    let frames = &dump.threads()[0].frames;
    // The export's function, then $rec(0) .. $rec(999): 1001 frames when the
    // 1001st call trips the limit of 1000.
    assert_eq!(frames.len(), 1001);
    assert_eq!(frames[0].locals[0], Value::I32(999));
    assert_eq!(frames[999].locals[0], Value::I32(0));
    assert_eq!(frames[1000].func, 5);
    let what = format!("{unwind:?} recurse");
    assert_trap(&dump, TrapKind::CallStackExhausted, &module, 0, &what);
}

/// Indirect calls through a table whose contents never change ($fixed) and
/// one that is exported, so its contents are unknown ($open).
const INDIRECT: &str = r#"
(module
  (memory (export "memory") 1)
  (type $v (func))
  (type $i (func (param i32) (result i32)))
  (table $fixed 4 funcref)
  (table $open (export "open") 4 funcref)
  (func $f (param i32) (result i32) local.get 0)
  (elem (table $fixed) (i32.const 0) func $f)
  (elem (table $open) (i32.const 0) func $f)
  (func $via (param $table i32) (param $slot i32) (param $sig i32) (result i32)
    (if (local.get $table)
      (then
        (if (local.get $sig)
          (then (call_indirect $open (type $v) (local.get $slot)))
          (else (drop (call_indirect $open (type $i) (i32.const 5) (local.get $slot)))))
        (return (i32.const 1))))
    (if (local.get $sig)
      (then (call_indirect $fixed (type $v) (local.get $slot)))
      (else (drop (call_indirect $fixed (type $i) (i32.const 5) (local.get $slot)))))
    (i32.const 0))
  (func (export "fixed_oob") (result i32) (call $via (i32.const 0) (i32.const 9) (i32.const 0)))
  (func (export "fixed_null") (result i32) (call $via (i32.const 0) (i32.const 2) (i32.const 0)))
  (func (export "fixed_sig") (result i32) (call $via (i32.const 0) (i32.const 0) (i32.const 1)))
  (func (export "fixed_ok") (result i32) (call $via (i32.const 0) (i32.const 0) (i32.const 0)))
  (func (export "open_oob") (result i32) (call $via (i32.const 1) (i32.const 9) (i32.const 0)))
  (func (export "open_null") (result i32) (call $via (i32.const 1) (i32.const 2) (i32.const 0)))
  (func (export "open_ok") (result i32) (call $via (i32.const 1) (i32.const 0) (i32.const 0)))
)
"#;

#[test]
fn failing_indirect_calls_become_dumps_with_check_indirect_calls() {
    UNWINDS.into_iter().for_each(indirect_calls_with);
}

fn indirect_calls_with(unwind: Unwind) {
    let options = Options {
        check_indirect_calls: true,
        unwind,
        ..Default::default()
    };
    let (a, b) = rewrite_in_mode("indirect", INDIRECT, &options);
    let module = std::fs::read(&a).unwrap();
    // (export, the trap, which of $via's four `call_indirect`s traps)
    for (export, kind, nth) in [
        ("fixed_oob", TrapKind::UndefinedElement, 3),
        ("fixed_null", TrapKind::UninitializedElement, 3),
        ("fixed_sig", TrapKind::IndirectCallTypeMismatch, 2),
        ("open_oob", TrapKind::UndefinedElement, 1),
        ("open_null", TrapKind::UninitializedElement, 1),
    ] {
        let before = NodeCommand::new(&a).invoke(export).core(false).run();
        let after = NodeCommand::new(&b).invoke(export).run();
        assert!(before.trapped(), "{unwind:?} {export}");
        assert_eq!(
            after.trap, before.trap,
            "{unwind:?} {export}: the same trap"
        );
        let dump = CoreDump::parse(after.core.as_deref().expect("core")).unwrap();
        let frames = &dump.threads()[0].frames;
        // $via (1) with its params, then the export.
        assert_eq!(frames[0].func, 1, "{unwind:?} {export}");
        assert_eq!(frames.len(), 2, "{unwind:?} {export}");
        assert_trap(&dump, kind, &module, nth, &format!("{unwind:?} {export}"));
    }
    for (export, result) in [("fixed_ok", 0), ("open_ok", 1)] {
        let run = NodeCommand::new(&b).invoke(export).run();
        assert_eq!(
            run.result(),
            Some(result),
            "{unwind:?} {export}: {}",
            run.stderr
        );
    }
}

/// `$inner` calls the host, then divides by its param; `$middle` calls it.
const HOST_CALL: &str = r#"
(module
  (import "host" "call" (func $host))
  (memory (export "memory") 1)
  (func $inner (param i32) (result i32) (call $host) (i32.div_u (i32.const 1) (local.get 0)))
  (func $middle (param i32) (result i32) (call $inner (local.get 0)))
  (func (export "run") (param i32) (result i32) (call $middle (local.get 0)))
)
"#;

#[test]
fn host_exceptions_pass_through_unchanged() {
    UNWINDS.into_iter().for_each(host_exceptions_with);
}

fn host_exceptions_with(unwind: Unwind) {
    let (_, rewritten) = rewrite_all_locals("host-call", HOST_CALL, unwind);
    // The host throws through the Wasm frames once; then a division traps.
    let script = r#"
import { readFileSync } from 'node:fs';
let throwing = true;
const thrown = new Error('from the host');
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[1]), {
  host: { call() { if (throwing) throw thrown; } },
});
const e = instance.exports;
const magic = () => new Uint32Array(e.memory.buffer)[0] === 0x6d736100;
const seen = [];
try { e.run(0); } catch (err) { seen.push(err === thrown, magic()); }
throwing = false;
seen.push(e.run(1));
try { e.run(0); } catch (err) { seen.push(err.message, magic()); }
console.log(JSON.stringify(seen));
"#;
    assert_eq!(
        node_script(script, &[&rewritten]),
        r#"[true,false,1,"divide by zero",true]"#,
        "{unwind:?}: the host's own exception, no dump; then a trap with a dump"
    );
}

/// A module that throws and catches its own exceptions (the "legacy"
/// instructions V8 runs): `$thrower(0)` throws 13, which `$catcher` returns;
/// `$thrower(1)` divides by zero.
const OWN_EXCEPTIONS: &str = r#"
(module
  (tag $oops (param i32))
  (memory (export "memory") 1)
  (func $thrower (param i32) (result i32)
    (if (i32.eqz (local.get 0)) (then (throw $oops (i32.const 13))))
    (i32.div_u (i32.const 100) (i32.sub (local.get 0) (i32.const 1))))
  (func $catcher (param i32) (result i32)
    try (result i32)
      local.get 0
      call $thrower
    catch $oops
    end)
  (func (export "run") (param i32) (result i32) (call $catcher (local.get 0)))
)
"#;

#[test]
fn a_module_that_handles_exceptions_unwinds_with_checks() {
    let input = wat::parse_str(OWN_EXCEPTIONS).unwrap();
    let refused = rewriter::rewrite(
        &input,
        &Options {
            unwind: Unwind::Exceptions,
            ..Options::default()
        },
    )
    .unwrap_err();
    assert!(
        refused.to_string().contains("handles exceptions itself"),
        "{refused}"
    );
    let options = Options {
        unwind: Unwind::Auto,
        ..Options::default()
    };
    let auto = rewriter::rewrite(&input, &options).unwrap();
    assert_eq!(auto.stats.unwind, Unwind::Checks);

    let (original, rewritten) = rewrite_in_mode(
        "own-exceptions",
        OWN_EXCEPTIONS,
        &Options {
            unwind: Unwind::Checks,
            ..Options::default()
        },
    );
    for (arg, result) in [("0", 13), ("5", 25)] {
        let run = NodeCommand::new(&rewritten)
            .invoke("run")
            .invoke_args(&[arg])
            .run();
        assert_eq!(run.result(), Some(result), "run({arg}): {}", run.stderr);
    }
    let before = NodeCommand::new(&original)
        .invoke("run")
        .invoke_args(&["1"])
        .core(false)
        .run();
    let after = NodeCommand::new(&rewritten)
        .invoke("run")
        .invoke_args(&["1"])
        .run();
    assert_eq!(before.trap.as_deref(), Some("divide by zero"));
    assert_eq!(after.trap, before.trap);
    let dump = CoreDump::parse(after.core.as_deref().expect("core")).unwrap();
    let frames = &dump.threads()[0].frames;
    assert_eq!(frames.iter().map(|f| f.func).collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(frames[0].locals[0], Value::I32(1));
}

/// `run(x)` divides 7 by what a call that can unwind returns: 0 for `x == 0`.
const DIVIDE_A_RESULT: &str = r#"
(module
  (memory (export "memory") 1)
  (func $share (param $n i32) (result i32) (i32.div_u (i32.const 7) (local.get $n)))
  (func (export "run") (param $x i32) (result i32)
    (i32.div_u (i32.const 7) (call $share (i32.add (local.get $x) (i32.const 8)))))
)
"#;

#[test]
fn a_division_right_after_a_call_is_a_trap_point() {
    for unwind in UNWINDS {
        let (original, rewritten) = rewrite_all_locals("divide-a-result", DIVIDE_A_RESULT, unwind);
        let before = NodeCommand::new(&original)
            .invoke("run")
            .invoke_args(&["0"])
            .core(false)
            .run();
        let after = NodeCommand::new(&rewritten)
            .invoke("run")
            .invoke_args(&["0"])
            .run();
        assert_eq!(before.trap.as_deref(), Some("divide by zero"));
        assert_eq!(after.trap, before.trap, "{unwind:?}");
        let dump = CoreDump::parse(after.core.as_deref().expect("core")).unwrap();
        let frames = &dump.threads()[0].frames;
        assert_eq!(
            frames.iter().map(|f| f.func).collect::<Vec<_>>(),
            [1],
            "{unwind:?}"
        );
        assert_eq!(frames[0].locals, [Value::I32(0)], "{unwind:?}");
    }
}

/// A loop that divides by zero when `$i` reaches 10, with one stale local.
const LOOP: &str = include_str!("stale_loop.wat");

#[test]
fn stale_locals_in_a_loop_are_missing_unless_kept() {
    for unwind in UNWINDS {
        let sum: i32 = (0..10).map(|i| (i + 100) / (10 - i)).sum();
        let live = |tmp| [20, 10, tmp, sum, 110].map(Value::I32);
        let mut expected = live(0);
        expected[2] = Value::Missing;
        for (keep_stale_locals, expected) in [(false, expected), (true, live(109))] {
            let options = Options {
                unwind,
                keep_stale_locals,
                record_locals: rewriter::RecordLocals::All,
                ..Options::default()
            };
            let name = format!("stale-{keep_stale_locals}");
            let (_, rewritten) = rewrite_in_mode(&name, LOOP, &options);
            let run = NodeCommand::new(&rewritten)
                .invoke("run")
                .invoke_args(&["20"])
                .run();
            assert_eq!(run.trap.as_deref(), Some("divide by zero"), "{name}");
            let dump = CoreDump::parse(run.core.as_deref().expect("core")).unwrap();
            let frames = &dump.threads()[0].frames;
            assert_eq!(frames.len(), 1, "{unwind:?} {name}");
            assert_eq!(frames[0].locals, expected, "{unwind:?} {name}");
        }
    }
}

/// `$div` and `$outer` are in a table the host sees: JS can call them
/// directly, and `$outer` calls `$div` through it. `escape` hands `$div`
/// to JS another way.
const TABLE: &str = r#"
(module
  (memory (export "memory") 1)
  (type $t (func (param i32) (result i32)))
  (table (export "table") 2 funcref)
  (elem (i32.const 0) $div $outer)
  (func $div (param i32) (result i32) (i32.div_u (i32.const 7) (local.get 0)))
  (func $outer (param i32) (result i32) (local $kept i32)
    (local.set $kept (i32.const 41))
    (call_indirect (type $t) (local.get 0) (i32.const 0)))
  (func (export "run") (param i32) (result i32) (call $outer (local.get 0)))
  (func (export "escape") (result funcref) (ref.func $div))
)
"#;

#[test]
fn a_function_the_host_calls_through_a_table_is_an_entry_point() {
    for unwind in UNWINDS {
        let (original, rewritten) = rewrite_all_locals("table", TABLE, unwind);
        // Each call in an instance of its own: table slot 0, slot 1, the
        // export; a call that does not trap first; `$div` got another way
        // (the trap, no dump), then the export.
        let script = r#"
import { readFileSync, writeFileSync } from 'node:fs';
const [module, ...outs] = process.argv.slice(1);
const bytes = readFileSync(module);
const calls = [(e) => e.table.get(0)(0), (e) => e.table.get(1)(0), (e) => e.run(0),
               (e) => [e.table.get(1)(7), e.table.get(0)(0)], (e) => e.escape()(0),
               (e) => { try { e.escape()(0); } catch {} return e.run(0); }];
const messages = [];
for (const [i, call] of calls.entries()) {
  const e = (await WebAssembly.instantiate(bytes)).instance.exports;
  try { call(e); messages.push('no trap'); } catch (err) { messages.push(`${err.constructor.name}: ${err.message}`); }
  if (outs.length) writeFileSync(outs[i], new Uint8Array(e.memory.buffer));
}
console.log(JSON.stringify(messages));
"#;
        let expected = format!("[{}]", [r#""RuntimeError: divide by zero""#; 6].join(","));
        assert_eq!(
            node_script(script, &[&original]),
            expected,
            "{unwind:?}: the original"
        );
        let outs: Vec<PathBuf> = (0..6)
            .map(|i| scratch(&format!("table-{i}.{unwind:?}.core")))
            .collect();
        let args: Vec<&PathBuf> = std::iter::once(&rewritten).chain(&outs).collect();
        assert_eq!(
            node_script(script, &args),
            expected,
            "{unwind:?}: the same traps"
        );
        let frames = |path: &PathBuf| {
            let bytes = std::fs::read(path).unwrap();
            let dump = CoreDump::parse(&bytes).unwrap();
            let frames = &dump.threads()[0].frames;
            frames
                .iter()
                .map(|f| (f.func, f.locals.clone()))
                .collect::<Vec<_>>()
        };
        let div = (0, vec![Value::I32(0)]);
        let outer = (1, vec![Value::I32(0), Value::I32(41)]);
        assert_eq!(
            frames(&outs[0]),
            std::slice::from_ref(&div),
            "{unwind:?}: $div from JS"
        );
        // $div through the table from $outer is not an entry point.
        assert_eq!(frames(&outs[1]), [div.clone(), outer.clone()], "{unwind:?}");
        let run = [div.clone(), outer, (2, vec![Value::I32(0)])];
        assert_eq!(frames(&outs[2]), run, "{unwind:?}");
        assert_eq!(
            frames(&outs[3]),
            [div],
            "{unwind:?}: after a call that returned"
        );
        let escaped = std::fs::read(&outs[4]).unwrap();
        assert!(
            CoreDump::parse(&escaped).is_err(),
            "{unwind:?}: no entry, no dump"
        );
        assert_eq!(frames(&outs[5]), run, "{unwind:?}: the next trap dumps");
    }
}

/// `$wide` with `n` i64 locals, local `i` set to `i * 1000 + 7`, calls `$fail`
/// (a division by zero), leaving every one of them live there.
fn wide_frame(n: usize) -> String {
    let locals = "(local i64)".repeat(n);
    let sets: String = (0..n)
        .map(|i| format!("(local.set {} (i64.const {}))", i + 1, i * 1000 + 7))
        .collect();
    let uses: String = (0..n)
        .map(|i| format!("(local.get {}) i64.add ", i + 1))
        .collect();
    format!(
        r#"(module
  (memory (export "memory") 1)
  (func $fail (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
  (func $wide (param i32) (result i64) {locals}
    {sets}
    (drop (call $fail (local.get 0)))
    i64.const 0 {uses})
  (func (export "run") (param i32) (result i64) (call $wide (local.get 0))))"#
    )
}

#[test]
fn a_frame_wider_than_one_recorder_is_recorded_whole() {
    // Past 400 values a frame is recorded by a recorder and appenders.
    let n = 900;
    for unwind in UNWINDS {
        let (_, rewritten) = rewrite_all_locals("wide-frame", &wide_frame(n), unwind);
        let run = NodeCommand::new(&rewritten)
            .invoke("run")
            .invoke_args(&["0"])
            .run();
        assert_eq!(run.trap.as_deref(), Some("divide by zero"), "{unwind:?}");
        let dump = CoreDump::parse(run.core.as_deref().expect("core")).unwrap();
        let frames = &dump.threads()[0].frames;
        let expected: Vec<Value> = std::iter::once(Value::I32(0))
            .chain((0..n).map(|i| Value::I64((i * 1000 + 7) as i64)))
            .collect();
        assert_eq!(frames[1].func, 1, "{unwind:?}");
        assert_eq!(frames[1].locals, expected, "{unwind:?}");
    }
}
