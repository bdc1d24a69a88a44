//! Rewriting one function body: copy its bytes verbatim, with each call that
//! can unwind guarded, each trap point routed through the runtime, and a
//! landing pad that records the frame.
//!
//! ```text
//! block (type [] -> [i32 i32])      ;; $unwind: receives (new, original) offset
//!   block (type [] -> results)      ;; the original body, its `end` included
//!     ... try (type T)  call f  catch $tag  i32.const NEW  i32.const ORIG  br $unwind  end
//!     ... <args>                        ;; was `call $panic  unreachable`:
//!     i32.const NEW  i32.const ORIG  <the recorder's arguments>
//!     call $trampoline  return  unreachable
//!   end
//!   return
//! end
//! <the recorder's arguments: FUNC, the locals the site records>  call $recorder
//! throw $tag
//! ```
//!
//! That is unwinding with exceptions: the trap throws `$tag`, and the `try`
//! costs nothing while nothing traps. Unwinding with checks instead follows
//! each call with `global.get $unwinding  if  NEW ORIG br $unwind  end`, and
//! the landing pad returns zeros to the caller, which checks in turn.
//!
//! Cold sites (calls followed by `unreachable`, trap points that start
//! unwinding at once) pass the locals they record to a trampoline instead of
//! branching to the landing pad, so that no local is kept alive across the
//! cold call (see `runtime::recorders`). The others branch to the landing
//! pad of the locals they record, one `$unwind` block per set:
//!
//! ```text
//! block $pad1 (type [] -> [i32 i32])      ;; one per set of recorded locals
//!   block $pad0 (type [] -> [i32 i32])
//!     block (type [] -> results)  ...  end  return
//!   end
//!   i32.const FUNC  i32.const N  (i32.const GAP local.get L)*  i32.const TAIL
//!   call $recorder  throw $tag
//! end
//! ...
//! ```

use wasm_encoder::{BlockType, Encode, InstructionSink};
use wasmparser::{Operator, ValType};

use crate::Options;
use crate::error::{Error, unsupported};
use crate::indirect::IndirectChecks;
use crate::locals::LocalSet;
use crate::module::ModuleInfo;
use crate::runtime::{
    Frame, G, Recorders, Rt, Runtime, divisor_check, helper_for, kind, pushed_constant, signature,
    zeros,
};
use crate::types::TypeRegistry;

/// One instrumented point: where its instruction starts and where the code
/// that stands for it ends, before and after rewriting, as offsets from the
/// body start. Bytes between two sites are copied unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Site {
    /// Offset of the instruction in the input body.
    pub original: u32,
    /// Offset of the call (or runtime call) in the rewritten body.
    pub new: u32,
    /// Offset just after the instruction in the input body.
    pub original_end: u32,
    /// Offset just after the check in the rewritten body.
    pub new_end: u32,
}

impl Site {
    /// A site whose input instruction ends at `original_end` and whose
    /// output code ends at `new_end`.
    fn spanning(original: u32, new: u32, original_end: usize, new_end: usize) -> Site {
        Site {
            original,
            new,
            original_end: original_end as u32,
            new_end: new_end as u32,
        }
    }
}

/// A rewritten body and what was changed in it.
#[derive(Debug)]
pub(crate) struct Rewritten {
    /// The new body, without its size prefix.
    pub body: Vec<u8>,
    /// Offsets of the instrumented calls and trap points, in order.
    pub sites: Vec<Site>,
    /// Offset of the first operator in the input body.
    pub ops_start: u32,
    /// Bytes inserted before the first operator (the two block headers).
    pub prefix: u32,
}

/// What every body needs to know of the rest of the module.
pub(crate) struct Context<'a> {
    pub info: &'a ModuleInfo<'a>,
    pub runtime: Runtime,
    pub may_unwind: &'a [bool],
    pub options: &'a Options,
    pub recorders: &'a Recorders,
}

pub(crate) fn instrument(
    cx: &Context<'_>,
    types: &mut TypeRegistry,
    indirect: &mut Option<IndirectChecks>,
    index: usize,
) -> Result<Rewritten, Error> {
    let info = cx.info;
    let func = info.imported_funcs + index as u32;
    let range = info.body(index);
    let start = range.start;
    let bytes = info.bytes;
    let body = info.function_body(index);
    let frame = Frame::of(info, index)?;
    let locals = body.get_locals_reader()?;
    let local_groups = locals.get_count();
    let groups_start = locals.original_position() as usize;
    let mut ops = body.get_operators_reader()?;
    let ops_start = ops.original_position() as usize;

    // The locals, plus scratch ones: i32 and i64 for inline divisor checks,
    // f32 and f64 too for stored values with `check_memory`.
    let scratch_types: &[u8] = if cx.options.check_memory {
        &[0x7f, 0x7e, 0x7d, 0x7c]
    } else {
        &[0x7f, 0x7e]
    };
    let mut out = Vec::with_capacity((range.end - start) * 3 / 2);
    (local_groups + scratch_types.len() as u32).encode(&mut out);
    out.extend_from_slice(&bytes[groups_start..ops_start]);
    for &ty in scratch_types {
        out.extend_from_slice(&[0x01, ty]);
    }
    let scratch = frame.locals.len() as u32;
    let cold = Cold {
        info,
        recorders: cx.recorders,
        frame: &frame,
        func,
    };
    let trap = cx.runtime.func(Rt::Trap);
    let trap_type = runtime_type(types, Rt::Trap);
    let guard = match cx.runtime.tag {
        Some(tag) => Guard::Try { tag },
        None => Guard::Check {
            unwinding: cx.runtime.global(G::Unwinding),
        },
    };
    let unwind_type = types.func(
        &[],
        &[wasm_encoder::ValType::I32, wasm_encoder::ValType::I32],
    );
    // A block per landing pad (each pad follows its end), the innermost
    // first.
    let pads = cx.recorders.pads(func);
    for _ in pads {
        out.push(0x02);
        BlockType::FunctionType(unwind_type).encode(&mut out);
    }
    // How many labels past the inner block the site at `original` branches
    // to: its landing pad's.
    let pad_depth = |original: u32| cx.recorders.pad(func, original) as u32;
    out.push(0x02);
    match frame.results.as_slice() {
        [] => BlockType::Empty,
        [t] => BlockType::Result(*t),
        many => BlockType::FunctionType(types.func(&[], many)),
    }
    .encode(&mut out);
    let depth_limit = cx.options.max_call_depth;
    let call_depth = cx.runtime.global(G::Depth);
    if let Some(limit) = depth_limit {
        let new = out.len() as u32;
        let mut s = InstructionSink::new(&mut out);
        s.global_get(call_depth)
            .i32_const(1)
            .i32_add()
            .global_set(call_depth);
        s.global_get(call_depth);
        s.i32_const(limit as i32).i32_gt_u().if_(BlockType::Empty);
        s.i32_const(kind::CALL_DEPTH);
        let original = (ops_start - start) as u32;
        match cold.trampoline(original) {
            Some(t) => cold.call(&mut out, t, new, original),
            // Inside the `if`: one block more than the body's own.
            None => guard.call(
                &mut out,
                trap_type,
                trap,
                new,
                original,
                1 + pad_depth(original),
            ),
        }
        InstructionSink::new(&mut out).end();
    }
    let prefix = (out.len() - (ops_start - start)) as u32;

    let mut sites = Vec::new();
    let mut copied = ops_start; // input bytes up to here are in `out`
    let mut depth: u32 = 0; // open blocks inside the original body
    let mut after_checked_call = false;
    // The constant the last operator pushed: a divisor known not to trap.
    let mut constant = None;
    let mut guarded = false; // whether the landing pad must check it is unwinding
    while !ops.eof() {
        let (op, offset) = ops.read_with_offset()?;
        let divisor = std::mem::replace(&mut constant, pushed_constant(&op));
        let offset = offset as usize;
        let next = ops.original_position() as usize;
        let original = (offset - start) as u32;
        match op {
            Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::Try { .. }
            | Operator::TryTable { .. } => depth += 1,
            Operator::End | Operator::Delegate { .. } if depth > 0 => depth -= 1,
            Operator::End => {
                // The function's own `end` now closes the inner block.
                out.extend_from_slice(&bytes[copied..next]);
                copied = next;
                if depth_limit.is_some() {
                    decrement(&mut out, call_depth);
                }
                out.push(0x0f); // return
                for locals in pads {
                    out.push(0x0b); // end of the pad's block
                    if let (true, Guard::Check { unwinding }) = (guarded, guard) {
                        let mut s = InstructionSink::new(&mut out);
                        s.global_get(unwinding).i32_eqz().if_(BlockType::Empty);
                        s.unreachable().end();
                    }
                    landing_pad(&cold, guard, locals, &mut out)?;
                }
                out.push(0x0b);
                continue;
            }
            _ => {}
        }
        let returns = matches!(
            op,
            Operator::Return
                | Operator::ReturnCall { .. }
                | Operator::ReturnCallIndirect { .. }
                | Operator::ReturnCallRef { .. }
        );
        let access = cx
            .options
            .check_memory
            .then(|| crate::analysis::memory_access(&op))
            .flatten();
        if (returns && depth_limit.is_some()) || access.is_some() {
            out.extend_from_slice(&bytes[copied..offset]);
            let new = out.len() as u32;
            if let Some(access) = access {
                let stash = access.stored.map(|ty| scratch + scratch_index(ty));
                let mut s = InstructionSink::new(&mut out);
                if let Some(local) = stash {
                    s.local_set(local);
                }
                s.i64_const((access.offset + access.size) as i64);
                let ty = runtime_type(types, Rt::CheckMem);
                let check_mem = cx.runtime.func(Rt::CheckMem);
                guard.call(
                    &mut out,
                    ty,
                    check_mem,
                    new,
                    original,
                    depth + pad_depth(original),
                );
                if let Some(local) = stash {
                    InstructionSink::new(&mut out).local_get(local);
                }
            } else {
                decrement(&mut out, call_depth);
            }
            out.extend_from_slice(&bytes[offset..next]);
            copied = next;
            sites.push(Site::spanning(original, new, next - start, out.len()));
            continue;
        }
        let call_unwinds = match op {
            Operator::Call { function_index } => function_index
                .checked_sub(info.imported_funcs)
                .is_some_and(|i| cx.may_unwind.get(i as usize).copied().unwrap_or(false)),
            Operator::CallIndirect { .. } | Operator::CallRef { .. } => true,
            _ => false,
        };
        // An `unreachable` right after a checked call is only reached if the
        // callee returned without unwinding; it stays as it is. (Any other
        // trap point there, a division of the call's result, is one.)
        let after_call = after_checked_call && matches!(op, Operator::Unreachable);
        let helper = helper_for(&op, divisor).filter(|_| !after_call);
        after_checked_call = false;
        if !call_unwinds && helper.is_none() {
            continue;
        }
        out.extend_from_slice(&bytes[copied..offset]);
        let new = out.len() as u32;
        // The blocks between the site and the landing pad it branches to.
        let site_depth = depth + pad_depth(original);
        // With `check_indirect_calls` the check comes first; the frame then
        // points at it, also when the call itself unwinds.
        if let (
            Operator::CallIndirect {
                type_index,
                table_index,
            },
            Some(checks),
        ) = (&op, indirect.as_mut())
            && let Some(check_fn) = checks.check_function(info, *type_index, *table_index)
        {
            let ty = IndirectChecks::check_type(types);
            guard.call(&mut out, ty, check_fn, new, original, site_depth);
        }
        match helper {
            Some(rt) if divisor_check(rt).is_some() => {
                let (kind, wide) = divisor_check(rt).expect("matched");
                let mut s = InstructionSink::new(&mut out);
                let local = scratch + wide as u32;
                s.local_tee(local);
                if wide {
                    s.i64_eqz()
                } else {
                    s.i32_eqz()
                };
                s.if_(BlockType::Empty);
                s.i32_const(kind);
                match cold.trampoline(original) {
                    Some(t) => cold.call(&mut out, t, new, original),
                    None => guard.call(&mut out, trap_type, trap, new, original, site_depth + 1),
                }
                let mut s = InstructionSink::new(&mut out);
                s.end();
                s.local_get(local);
                out.extend_from_slice(&bytes[offset..next]);
            }
            // `unreachable` stays after the check: it traps if unwinding is
            // off (a second trap re-raises inside the runtime instead).
            Some(rt @ Rt::Unreachable) => {
                match cold.trampoline(original) {
                    Some(t) => {
                        InstructionSink::new(&mut out).i32_const(kind::UNREACHABLE);
                        cold.call(&mut out, t, new, original);
                    }
                    None => {
                        let ty = runtime_type(types, rt);
                        guard.call(&mut out, ty, cx.runtime.func(rt), new, original, site_depth);
                    }
                }
                out.extend_from_slice(&bytes[offset..next]);
            }
            Some(rt) => {
                let ty = runtime_type(types, rt);
                guard.call(&mut out, ty, cx.runtime.func(rt), new, original, site_depth);
            }
            None => {
                after_checked_call = true;
                let mut peek = ops.clone();
                let noreturn = matches!(peek.read(), Ok(Operator::Unreachable));
                let trampoline = match op {
                    Operator::Call { .. } if noreturn => cold.trampoline(original),
                    _ => None,
                };
                // The trampoline makes the call and records the frame.
                if let Some(t) = trampoline {
                    cold.call(&mut out, t, new, original);
                    copied = next;
                    sites.push(Site::spanning(original, new, next - start, out.len()));
                    continue;
                }
                // (Only a `try` needs the type: unwinding with checks adds none.)
                if let Guard::Try { .. } = guard {
                    guard.open(&mut out, call_type(info, types, &op, offset)?);
                }
                out.extend_from_slice(&bytes[offset..next]);
                if noreturn && let Guard::Check { .. } = guard {
                    // The callee cannot return normally: branch without a
                    // check (the landing pad traps if nothing is unwinding).
                    let mut s = InstructionSink::new(&mut out);
                    s.i32_const(new as i32)
                        .i32_const(original as i32)
                        .br(site_depth + 1);
                    guarded = true;
                } else {
                    guard.close(&mut out, new, original, site_depth);
                }
            }
        }
        copied = next;
        sites.push(Site::spanning(original, new, next - start, out.len()));
    }
    debug_assert_eq!(copied, range.end);
    Ok(Rewritten {
        body: out,
        sites,
        ops_start: (ops_start - start) as u32,
        prefix,
    })
}

/// `Depth -= 1`, before the function returns.
fn decrement(out: &mut Vec<u8>, call_depth: u32) {
    let mut s = InstructionSink::new(out);
    s.global_get(call_depth)
        .i32_const(1)
        .i32_sub()
        .global_set(call_depth);
}

/// Which scratch local (after the function's own) holds a value of `ty`.
fn scratch_index(ty: wasm_encoder::ValType) -> u32 {
    match ty {
        wasm_encoder::ValType::I32 => 0,
        wasm_encoder::ValType::I64 => 1,
        wasm_encoder::ValType::F32 => 2,
        _ => 3,
    }
}

/// How a call that can unwind hands over to the landing pad.
#[derive(Debug, Clone, Copy)]
enum Guard {
    /// `global.get $unwinding  if  NEW ORIG br $unwind  end` after the call.
    Check { unwinding: u32 },
    /// `try (type T)  call  catch $tag  NEW ORIG br $unwind  end`.
    Try { tag: u32 },
}

impl Guard {
    /// Before a call of type `ty`, its arguments pushed: opens the `try`.
    fn open(self, out: &mut Vec<u8>, ty: u32) {
        if let Guard::Try { .. } = self {
            InstructionSink::new(out).try_(BlockType::FunctionType(ty));
        }
    }

    /// After the call: if a trap is unwinding, branch to the landing pad
    /// with the call's offsets. `depth` blocks are open in the original
    /// body (plus the blocks of sets of stale locals inside the one
    /// branched to), then come the inner block and `$unwind`.
    fn close(self, out: &mut Vec<u8>, new: u32, original: u32, depth: u32) {
        let mut s = InstructionSink::new(out);
        match self {
            Guard::Check { unwinding } => s.global_get(unwinding).if_(BlockType::Empty),
            Guard::Try { tag } => s.catch(tag),
        };
        s.i32_const(new as i32)
            .i32_const(original as i32)
            .br(depth + 2);
        s.end();
    }

    /// A guarded call of `func` (of type `ty`), arguments pushed.
    fn call(self, out: &mut Vec<u8>, ty: u32, func: u32, new: u32, original: u32, depth: u32) {
        self.open(out, ty);
        InstructionSink::new(out).call(func);
        self.close(out, new, original, depth);
    }
}

/// The type of runtime function `rt`.
fn runtime_type(types: &mut TypeRegistry, rt: Rt) -> u32 {
    let (params, results) = signature(rt);
    types.func(params, results)
}

/// The type of a call instruction, as a block type: its params (the callee
/// index or reference last) and results.
fn call_type(
    info: &ModuleInfo<'_>,
    types: &mut TypeRegistry,
    op: &Operator<'_>,
    offset: usize,
) -> Result<u32, Error> {
    let (ty, callee) = match *op {
        Operator::Call { function_index } => (info.func_type(function_index), None),
        Operator::CallIndirect {
            type_index,
            table_index,
        } => {
            let table64 = info
                .tables
                .get(table_index as usize)
                .is_some_and(|t| t.table64);
            let index = match table64 {
                true => wasm_encoder::ValType::I64,
                false => wasm_encoder::ValType::I32,
            };
            (info.signature(type_index), Some(index))
        }
        Operator::CallRef { type_index } => {
            let heap = wasm_encoder::HeapType::Concrete(type_index);
            let reference = wasm_encoder::ValType::Ref(wasm_encoder::RefType {
                nullable: true,
                heap_type: heap,
            });
            (info.signature(type_index), Some(reference))
        }
        _ => unreachable!("only calls are guarded"),
    };
    let ty = ty.map_err(|e| e.located(offset as u64))?;
    let convert = |list: &[ValType]| -> Result<Vec<wasm_encoder::ValType>, Error> {
        list.iter()
            .map(|&t| encoder_type(t).map_err(|e| e.located(offset as u64)))
            .collect()
    };
    let mut params = convert(ty.params())?;
    params.extend(callee);
    Ok(types.func(&params, &convert(ty.results())?))
}

/// A landing pad, after its block left (new, orig): records the frame with
/// `locals`, then returns zeros, or rethrows the tag (either way the code
/// after it is unreachable, so the next pad's block can end there).
fn landing_pad(
    cold: &Cold<'_>,
    guard: Guard,
    locals: &LocalSet,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    let mut s = InstructionSink::new(out);
    cold.recorders.record(&mut s, cold.func, cold.frame, locals);
    if let Guard::Try { tag } = guard {
        s.throw(tag);
        return Ok(());
    }
    zeros(&mut s, &cold.frame.results).map_err(|_| {
        unsupported(
            format!(
                "function {} returns a non-nullable reference (GC / typed function references)",
                cold.info.function_label(cold.func)
            ),
            cold.info.function_offset(cold.func),
        )
    })?;
    s.return_();
    Ok(())
}

/// What a cold site needs to record its frame through a trampoline.
struct Cold<'a> {
    info: &'a ModuleInfo<'a>,
    recorders: &'a Recorders,
    frame: &'a Frame,
    func: u32,
}

impl Cold<'_> {
    /// The trampoline of the cold site `original` bytes into the body, and
    /// the locals the site passes it.
    fn trampoline(&self, original: u32) -> Option<(u32, &LocalSet)> {
        self.recorders.trampoline(self.func, original)
    }

    /// Calls `trampoline` with the callee's arguments (already pushed), the
    /// site's offsets and the locals it records, then returns: no local
    /// stays live across the cold call.
    fn call(
        &self,
        out: &mut Vec<u8>,
        (trampoline, locals): (u32, &LocalSet),
        new: u32,
        original: u32,
    ) {
        let mut s = InstructionSink::new(out);
        s.i32_const(new as i32).i32_const(original as i32);
        Recorders::push_arguments(&mut s, self.func, self.frame, locals);
        s.call(trampoline).return_();
    }
}

/// A wasmparser value type as wasm-encoder's (the caller locates the error).
pub(crate) fn encoder_type(t: ValType) -> Result<wasm_encoder::ValType, Error> {
    wasm_encoder::ValType::try_from(t).map_err(|_| unsupported(format!("value type {t}"), None))
}
