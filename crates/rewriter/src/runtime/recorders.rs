//! Frame recorders and cold-path trampolines: functions that record a frame
//! from its locals passed as arguments.
//!
//! A *recorder* takes `(new, orig, func, locals...)` and records one frame;
//! there is one per list of local types (most functions share one), and the
//! landing pad of every instrumented function calls it.
//!
//! A *trampoline* stands for a call that never returns normally: a call to a
//! function followed by `unreachable` (a panic), or the start of a trap. It
//! takes the callee's arguments, then `(new, orig, func, locals...)`, makes
//! the call, and records the caller's frame when it unwinds (it catches the
//! tag and throws it again, or, unwinding with checks, sees the flag when
//! the call returns).
//! Because the locals are arguments, none of them stays live across the cold
//! call. Branching to the landing pad instead keeps them live across it, and
//! V8's TurboFan then spills them where they are defined, on the hot path:
//! a recursive Fibonacci with an overflow check ran 1.31x the original that
//! way, 1.08x with a trampoline. Each site passes every local (two bytes
//! each), so only functions with at most [`MAX_PASSED_LOCALS`] get
//! trampolines; the others branch to their landing pad.
//!
//! A cold site with stale locals (see `crate::stale`) passes zeros for them
//! and calls a trampoline of its own, which sets [`G::Stale`] before it
//! records the frame, so that the value recorders write them as missing.
//! A site that branches to a landing pad leaves locals out through one of
//! at most [`MAX_STALE_SETS`] blocks of its function: on the way to the pad
//! each sets its locals to zero and [`G::Stale`] to them (`instrument`).

use std::collections::HashMap;

use wasm_encoder::{BlockType, Function, InstructionSink, ValType};
use wasmparser::{Operator, OperatorsReader};

use super::{G, Rt, Runtime, divisor_check, helper_for, pushed_constant};
use crate::Options;
use crate::analysis::LoopCalls;
use crate::error::{Error, unsupported};
use crate::module::ModuleInfo;
use crate::named_locals::NamedLocals;
use crate::stale::{MAX_ANALYZED_LOCALS, StaleLocals};
use crate::types::TypeRegistry;

/// Functions with more params and locals than this record their frame at
/// their landing pad only (code size: each trampoline call passes them all).
pub(crate) const MAX_PASSED_LOCALS: usize = 10;

/// One generated function.
#[derive(Debug)]
enum Helper {
    /// Records a frame with these local types.
    Recorder(Vec<ValType>),
    /// Calls `callee`, then records the frame with the recorder `recorder`
    /// and returns zeros of `results` (the caller's results).
    Trampoline {
        callee: u32,
        params: Vec<ValType>,
        callee_results: usize,
        recorder: u32,
        locals: Vec<ValType>,
        results: Vec<ValType>,
        /// The locals the recorder writes as missing (bit `i`: local `i`).
        stale: u32,
    },
}

/// The recorders and trampolines of a module, numbered from a base index.
#[derive(Debug)]
pub(crate) struct Recorders {
    base: u32,
    helpers: Vec<Helper>,
    recorders: HashMap<Vec<ValType>, u32>,
    /// (callee, local types, results, stale locals) -> trampoline.
    trampolines: HashMap<(u32, Vec<ValType>, Vec<ValType>, u32), u32>,
    /// (function, body-relative offset of a site) -> the locals it records
    /// as missing, where there are any.
    stale: HashMap<(u32, u32), u32>,
    /// Function with a landing pad -> each set of stale locals some of its
    /// sites leave out, in order.
    stale_sets: HashMap<u32, Vec<u32>>,
}

/// The local types (params first) and result types of a defined function.
pub(crate) struct Frame {
    pub locals: Vec<ValType>,
    pub results: Vec<ValType>,
}

impl Frame {
    /// The frame layout of defined function `index` (without imports).
    pub fn of(info: &ModuleInfo<'_>, index: usize) -> Result<Self, Error> {
        let body = info.function_body(index);
        let sig = info.func_type(info.imported_funcs + index as u32)?;
        let mut locals = encoder_types(sig.params())?;
        for group in body.get_locals_reader()? {
            let (count, ty) = group?;
            let ty = encoder_types(&[ty])?[0];
            locals.extend(std::iter::repeat_n(ty, count as usize));
        }
        Ok(Frame {
            locals,
            results: encoder_types(sig.results())?,
        })
    }

    /// Whether its cold sites call trampolines.
    pub fn passes_locals(&self) -> bool {
        self.locals.len() <= MAX_PASSED_LOCALS
    }
}

impl Recorders {
    /// Plans every recorder and trampoline the instrumented functions will
    /// call, numbered from `base`. Trampolines are planned for the cold
    /// sites `instrument` finds: calls to functions that can unwind followed
    /// by `unreachable`, and trap points that start unwinding at once.
    pub fn plan(
        info: &ModuleInfo<'_>,
        may_unwind: &[bool],
        loop_without_calls: &[bool],
        options: &Options,
        rt: &Runtime,
        base: u32,
    ) -> Result<Self, Error> {
        let mut plan = Recorders {
            base,
            helpers: Vec::new(),
            recorders: HashMap::new(),
            trampolines: HashMap::new(),
            stale: HashMap::new(),
            stale_sets: HashMap::new(),
        };
        let trap = rt.func(Rt::Trap);
        let mut functions = Vec::new();
        for (index, _) in may_unwind.iter().enumerate().filter(|(_, u)| **u) {
            let frame = Frame::of(info, index)?;
            let recorder = plan.add_recorder(&frame.locals);
            // (`instrument` refuses a function that has no zeros to return.)
            if !has_zeros(&frame.results) {
                continue;
            }
            // Trampolines leave out stale locals at cold sites in loops. A
            // landing pad leaves out loop values that no variable lives in,
            // in a function with a loop without calls, among its first 32
            // locals.
            let passes = frame.passes_locals();
            let lean_pad = !passes
                && loop_without_calls[index]
                && frame.locals.len() <= MAX_ANALYZED_LOCALS
                && !options.keep_stale_locals;
            if !passes && !lean_pad {
                continue;
            }
            let ops = info.function_body(index).get_operators_reader()?;
            let sites = Sites::of(info, may_unwind, ops.clone(), info.body(index).start, trap)?;
            let mut left_out = Vec::new();
            if lean_pad || (sites.cold_in_loop && !options.keep_stale_locals) {
                let mut stale =
                    StaleLocals::analyze(ops, info.body(index).start, frame.locals.len())?;
                left_out = match passes {
                    true => (sites.cold.iter())
                        .map(|site| (site.offset, stale.stale_at(site.offset)))
                        .collect(),
                    false => (sites.guarded.iter())
                        .map(|&offset| (offset, stale.loop_values_at(offset)))
                        .collect(),
                };
                left_out.retain(|&(_, locals)| locals != 0);
            }
            functions.push((index, frame, recorder, sites.cold, left_out));
        }
        // What the debug info names where landing pads could leave out
        // loop values.
        let wanted: Vec<usize> = (functions.iter())
            .filter(|(_, frame, .., left_out)| !frame.passes_locals() && !left_out.is_empty())
            .map(|(index, ..)| *index)
            .collect();
        let named = NamedLocals::read(info, &wanted);
        for (index, frame, recorder, cold, mut left_out) in functions {
            let func = info.imported_funcs + index as u32;
            let keep = |(offset, locals)| ((func, offset), locals);
            if !frame.passes_locals() {
                let pc = (info.body(index).start - info.code_payload_start()) as u64;
                for (offset, locals) in &mut left_out {
                    *locals &= !named.at(index, pc + *offset as u64);
                }
                left_out.retain(|&(_, locals)| locals != 0);
                let sets = stale_sets(&mut left_out, MAX_STALE_SETS);
                if !sets.is_empty() {
                    plan.stale_sets.insert(func, sets);
                }
                plan.stale.extend(left_out.into_iter().map(keep));
                continue;
            }
            plan.stale.extend(left_out.into_iter().map(keep));
            // (The call-depth check on entry is never in a loop.)
            let entry = options.max_call_depth.map(|_| ColdSite::trap(0, trap));
            for site in entry.into_iter().chain(cold) {
                let stale = plan.stale(func, site.offset);
                let key = (
                    site.callee,
                    frame.locals.clone(),
                    frame.results.clone(),
                    stale,
                );
                if !plan.trampolines.contains_key(&key) {
                    let i = plan.base + plan.helpers.len() as u32;
                    plan.helpers.push(Helper::Trampoline {
                        callee: site.callee,
                        params: site.params,
                        callee_results: site.callee_results,
                        recorder,
                        locals: frame.locals.clone(),
                        results: frame.results.clone(),
                        stale,
                    });
                    plan.trampolines.insert(key, i);
                }
            }
        }
        Ok(plan)
    }

    fn add_recorder(&mut self, locals: &[ValType]) -> u32 {
        if let Some(&i) = self.recorders.get(locals) {
            return i;
        }
        let i = self.base + self.helpers.len() as u32;
        self.helpers.push(Helper::Recorder(locals.to_vec()));
        self.recorders.insert(locals.to_vec(), i);
        i
    }

    /// The index just past the last helper.
    pub fn end(&self) -> u32 {
        self.base + self.helpers.len() as u32
    }

    /// The recorder of a frame with these local types.
    pub fn recorder(&self, locals: &[ValType]) -> u32 {
        self.recorders[locals]
    }

    /// The locals the site `offset` bytes into the body of function `func`
    /// records as missing: bit `i` for local `i`.
    pub fn stale(&self, func: u32, offset: u32) -> u32 {
        self.stale.get(&(func, offset)).copied().unwrap_or(0)
    }

    /// Each set of stale locals some sites of function `func` (which has a
    /// landing pad) leave out, in order.
    pub fn stale_sets(&self, func: u32) -> &[u32] {
        self.stale_sets.get(&func).map_or(&[], Vec::as_slice)
    }

    /// The trampoline calling `callee` from a frame with these `stale`
    /// locals, if one was planned.
    pub fn trampoline(&self, callee: u32, frame: &Frame, stale: u32) -> Option<u32> {
        let key = (callee, frame.locals.clone(), frame.results.clone(), stale);
        self.trampolines.get(&key).copied()
    }

    /// The helper functions, in index order: (type index, body).
    pub fn functions(&self, rt: &Runtime, types: &mut TypeRegistry) -> Vec<(u32, Function)> {
        self.helpers
            .iter()
            .map(|helper| match helper {
                Helper::Recorder(locals) => {
                    let params = [&[ValType::I32; 3][..], locals].concat();
                    (types.func(&params, &[]), recorder(rt, locals))
                }
                Helper::Trampoline {
                    callee,
                    params,
                    callee_results,
                    recorder,
                    locals,
                    results,
                    stale,
                } => {
                    let all = [&params[..], &[ValType::I32; 3], locals].concat();
                    let mut f = Function::new([]);
                    let mut s = f.instructions();
                    let record = |s: &mut InstructionSink<'_>| {
                        if *stale != 0 {
                            s.i32_const(*stale as i32).global_set(rt.global(G::Stale));
                        }
                        for i in params.len()..all.len() {
                            s.local_get(i as u32);
                        }
                        s.call(*recorder);
                    };
                    if rt.tag.is_some() {
                        s.try_(BlockType::Empty);
                    }
                    for i in 0..params.len() as u32 {
                        s.local_get(i);
                    }
                    s.call(*callee);
                    for _ in 0..*callee_results {
                        s.drop();
                    }
                    match rt.tag {
                        // A callee that returns normally traps after the
                        // `try`, as the `unreachable` after the original
                        // call did.
                        Some(tag) => {
                            s.catch(tag);
                            record(&mut s);
                            s.throw(tag).end().unreachable();
                        }
                        None => {
                            s.global_get(rt.global(G::Unwinding))
                                .i32_eqz()
                                .if_(BlockType::Empty);
                            s.unreachable().end();
                            record(&mut s);
                            zeros(&mut s, results).expect("checked when planned");
                        }
                    }
                    s.end();
                    (types.func(&all, results), f)
                }
            })
            .collect()
    }
}

/// How many sets of locals a landing pad may leave out, each for the sites
/// whose own set holds it. Each costs code: the zeroing of its locals on
/// the way to the pad, about 16 bytes and 2 per local.
const MAX_STALE_SETS: usize = 2;

/// Chooses at most `limit` sets of locals to leave out for the sites of one
/// function, `(offset, locals it may leave out)` each, and has each site
/// leave out the largest chosen set within its own, or nothing (dropped
/// from `sites`). Greedy: each set chosen serves the most sites not yet
/// served, then leaves out the most locals over all sites.
fn stale_sets(sites: &mut Vec<(u32, u32)>, limit: usize) -> Vec<u32> {
    let mut candidates: Vec<u32> = sites.iter().map(|&(_, set)| set).collect();
    candidates.sort_unstable();
    candidates.dedup();
    let best = |chosen: &[u32], set: u32| {
        chosen
            .iter()
            .filter(|&&c| c & !set == 0)
            .max_by_key(|c| c.count_ones())
            .copied()
    };
    // (sites served, locals left out over all sites)
    let value = |chosen: &[u32]| {
        sites.iter().fold((0, 0), |(served, left_out), &(_, set)| {
            match best(chosen, set) {
                Some(c) => (served + 1, left_out + c.count_ones()),
                None => (served, left_out),
            }
        })
    };
    let mut chosen = Vec::new();
    while chosen.len() < limit {
        let now = value(&chosen);
        let next = candidates
            .iter()
            .filter(|c| !chosen.contains(*c))
            .map(|&c| (value(&[&chosen[..], &[c]].concat()), c))
            .filter(|&(v, _)| v.1 > now.1)
            // (The smaller set on a tie, so that the choice is stable.)
            .max_by_key(|&(v, c)| (v, std::cmp::Reverse(c)));
        match next {
            Some((_, c)) => chosen.push(c),
            None => break,
        }
    }
    sites.retain_mut(|(_, set)| match best(&chosen, *set) {
        Some(c) => {
            *set = c;
            true
        }
        None => false,
    });
    chosen.sort_unstable();
    chosen
}

/// A cold site: where it is and what its trampoline calls.
struct ColdSite {
    /// Body-relative offset of its instruction (the call, for a call
    /// followed by `unreachable`).
    offset: u32,
    callee: u32,
    /// The callee's param types and result count.
    params: Vec<ValType>,
    callee_results: usize,
}

impl ColdSite {
    /// A trap point at `offset`: its trampoline calls `trap` (the runtime's
    /// `Trap(kind)`).
    fn trap(offset: u32, trap: u32) -> Self {
        ColdSite {
            offset,
            callee: trap,
            params: vec![ValType::I32],
            callee_results: 0,
        }
    }
}

/// The sites of a body that `instrument` makes record the frame.
struct Sites {
    /// The cold sites: trampolines where the function passes its locals.
    cold: Vec<ColdSite>,
    /// Body-relative offsets of every site that branches to the landing
    /// pad where the function does not pass its locals: calls that can
    /// unwind and trap points (the cold sites among them).
    guarded: Vec<u32>,
    /// Whether a cold site is inside a loop.
    cold_in_loop: bool,
}

impl Sites {
    /// The sites of a body whose first byte is at `start`.
    fn of(
        info: &ModuleInfo<'_>,
        may_unwind: &[bool],
        mut ops: OperatorsReader<'_>,
        start: usize,
        trap: u32,
    ) -> Result<Self, Error> {
        let mut sites = Sites {
            cold: Vec::new(),
            guarded: Vec::new(),
            cold_in_loop: false,
        };
        let mut loops = LoopCalls::default();
        // A call that can unwind, just read: (callee, offset), the callee
        // `None` for an indirect call.
        let mut previous = None;
        let mut constant = None;
        while !ops.eof() {
            let (op, offset) = ops.read_with_offset()?;
            let divisor = std::mem::replace(&mut constant, pushed_constant(&op));
            let relative = (offset as usize - start) as u32;
            loops.visit(&op);
            let cold = match (&op, previous) {
                (Operator::Unreachable, Some((Some(callee), call))) => {
                    let sig = info.func_type(callee)?;
                    Some(ColdSite {
                        offset: call,
                        callee,
                        params: encoder_types(sig.params())?,
                        callee_results: sig.results().len(),
                    })
                }
                // (`instrument` leaves an `unreachable` after a guarded
                // call as it is.)
                (Operator::Unreachable, Some((None, _))) => None,
                (Operator::Unreachable, None) => Some(ColdSite::trap(relative, trap)),
                (op, _) if starts_trap(op, divisor) => Some(ColdSite::trap(relative, trap)),
                _ => None,
            };
            let after_call = previous.is_some() && matches!(op, Operator::Unreachable);
            let trap_point = !after_call && helper_for(&op, divisor).is_some();
            if cold.is_some() {
                sites.cold_in_loop |= loops.in_loop();
            }
            sites.cold.extend(cold);
            previous = match op {
                Operator::Call { function_index } => function_index
                    .checked_sub(info.imported_funcs)
                    .filter(|&i| may_unwind.get(i as usize).copied().unwrap_or(false))
                    .map(|_| (Some(function_index), relative)),
                Operator::CallIndirect { .. } | Operator::CallRef { .. } => Some((None, relative)),
                _ => None,
            };
            if trap_point || previous.is_some() {
                sites.guarded.push(relative);
            }
        }
        Ok(sites)
    }
}

/// Whether `op` starts unwinding at once when it traps, without a helper
/// that returns: a division checked inline (see [`divisor_check`]).
fn starts_trap(op: &Operator<'_>, divisor: Option<i64>) -> bool {
    helper_for(op, divisor).and_then(divisor_check).is_some()
}

/// `Recorder(new, orig, func, locals...)`: the frame header, then each
/// local (as missing if [`G::Stale`] says so).
fn recorder(rt: &Runtime, locals: &[ValType]) -> Function {
    let mut f = Function::new([]);
    let mut s = f.instructions();
    s.local_get(0).local_get(1).local_get(2);
    s.i32_const(locals.len() as i32).call(rt.func(Rt::Frame));
    for (i, ty) in locals.iter().enumerate() {
        let value = match ty {
            ValType::I32 => Rt::I32,
            ValType::I64 => Rt::I64,
            ValType::F32 => Rt::F32,
            ValType::F64 => Rt::F64,
            _ => {
                s.call(rt.func(Rt::Missing));
                continue;
            }
        };
        s.local_get(3 + i as u32).call(rt.func(value));
    }
    s.end();
    f
}

/// Whether [`zeros`] can push a value of each type (not of a non-nullable
/// reference).
fn has_zeros(results: &[ValType]) -> bool {
    results
        .iter()
        .all(|t| !matches!(t, ValType::Ref(r) if !r.nullable))
}

/// Pushes a zero (or null) of each type: what a function returns while a
/// trap unwinds.
pub(crate) fn zeros(s: &mut InstructionSink<'_>, results: &[ValType]) -> Result<(), Error> {
    for ty in results {
        match ty {
            ValType::I32 => s.i32_const(0),
            ValType::I64 => s.i64_const(0),
            ValType::F32 => s.f32_const(0.0.into()),
            ValType::F64 => s.f64_const(0.0.into()),
            ValType::V128 => s.v128_const(0),
            ValType::Ref(r) if r.nullable => s.ref_null(r.heap_type),
            ValType::Ref(_) => {
                return Err(unsupported(
                    "a function returning a non-nullable reference (GC / typed function references)",
                    0,
                ));
            }
        };
    }
    Ok(())
}

fn encoder_types(types: &[wasmparser::ValType]) -> Result<Vec<ValType>, Error> {
    types
        .iter()
        .map(|&t| crate::instrument::encoder_type(t, 0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::stale_sets;

    #[test]
    fn the_sets_chosen_serve_the_most_sites_then_leave_out_the_most() {
        let sites = vec![(1, 0b0111), (2, 0b0011), (3, 0b1_0000), (4, 0b0011)];
        // One set: 0b0011 serves three sites, 0b0111 one.
        let mut one = sites.clone();
        assert_eq!(stale_sets(&mut one, 1), [0b0011]);
        assert_eq!(one, [(1, 0b0011), (2, 0b0011), (4, 0b0011)]);
        // Two: then 0b1_0000 serves one more site.
        let mut two = sites.clone();
        assert_eq!(stale_sets(&mut two, 2), [0b0011, 0b1_0000]);
        assert_eq!(two, [(1, 0b0011), (2, 0b0011), (3, 0b1_0000), (4, 0b0011)]);
        // Three: 0b0111 leaves one local more out at site 1.
        let mut three = sites;
        assert_eq!(stale_sets(&mut three, 3), [0b0011, 0b0111, 0b1_0000]);
        assert_eq!(three[0], (1, 0b0111));
    }
}
