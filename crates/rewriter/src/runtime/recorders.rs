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
//! A site with stale locals (see `crate::stale`) passes zeros for them and
//! calls a trampoline of its own, which sets [`G::Stale`] before it records
//! the frame, so that the value recorders write them as missing.

use std::collections::HashMap;

use wasm_encoder::{BlockType, Function, InstructionSink, ValType};
use wasmparser::{BinaryReader, FunctionBody, Operator, OperatorsReader};

use super::{G, Rt, Runtime, divisor_check, helper_for, pushed_constant};
use crate::Options;
use crate::error::{Error, unsupported};
use crate::module::ModuleInfo;
use crate::stale::StaleLocals;
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
    /// (function, body-relative offset of a cold site) -> its stale locals,
    /// where there are any.
    stale: HashMap<(u32, u32), u32>,
}

/// The local types (params first) and result types of a defined function.
pub(crate) struct Frame {
    pub locals: Vec<ValType>,
    pub results: Vec<ValType>,
}

impl Frame {
    /// The frame layout of defined function `index` (without imports).
    pub fn of(info: &ModuleInfo<'_>, index: usize) -> Result<Self, Error> {
        let body = &info.bodies[index];
        let reader = BinaryReader::new(&info.bytes[body.range.clone()], body.range.start as u64);
        let body = FunctionBody::new(reader);
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
        };
        let trap = rt.func(Rt::Trap);
        for (index, _) in may_unwind.iter().enumerate().filter(|(_, u)| **u) {
            let frame = Frame::of(info, index)?;
            let recorder = plan.add_recorder(&frame.locals);
            // (`instrument` refuses a function that has no zeros to return.)
            if !frame.passes_locals() || !has_zeros(&frame.results) {
                continue;
            }
            let body = &info.bodies[index];
            let reader =
                BinaryReader::new(&info.bytes[body.range.clone()], body.range.start as u64);
            let ops = FunctionBody::new(reader).get_operators_reader()?;
            let (sites, site_in_loop) =
                cold_sites(info, may_unwind, ops.clone(), body.range.start, trap)?;
            // (The call-depth check on entry is never in a loop.)
            let entry = options.max_call_depth.map(|_| ColdSite::trap(0, trap));
            // Only a site inside a loop can have stale locals.
            let mut stale = match site_in_loop && !options.keep_stale_locals {
                true => {
                    let locals = frame.locals.len();
                    Some(StaleLocals::analyze(ops, body.range.start, locals)?)
                }
                false => None,
            };
            let func = info.imported_funcs + index as u32;
            for site in entry.into_iter().chain(sites) {
                let stale = stale.as_mut().map_or(0, |s| s.at(site.offset));
                if stale != 0 {
                    plan.stale.insert((func, site.offset), stale);
                }
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

    /// The stale locals at the cold site `offset` bytes into the body of
    /// function `func`: bit `i` for local `i`.
    pub fn stale(&self, func: u32, offset: u32) -> u32 {
        self.stale.get(&(func, offset)).copied().unwrap_or(0)
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

/// The cold sites of a body (whose first byte is at `start`) that
/// `instrument` gives trampolines, and whether one of them is inside a loop.
fn cold_sites(
    info: &ModuleInfo<'_>,
    may_unwind: &[bool],
    mut ops: OperatorsReader<'_>,
    start: usize,
    trap: u32,
) -> Result<(Vec<ColdSite>, bool), Error> {
    let mut sites = Vec::new();
    // A call that can unwind, just read: (callee, offset).
    let mut previous = None;
    // Whether each open block is a loop, and how many are.
    let (mut blocks, mut loops) = (Vec::new(), 0);
    let mut site_in_loop = false;
    let mut constant = None;
    while !ops.eof() {
        let (op, offset) = ops.read_with_offset()?;
        let divisor = std::mem::replace(&mut constant, pushed_constant(&op));
        let relative = (offset as usize - start) as u32;
        match op {
            Operator::Loop { .. } => {
                blocks.push(true);
                loops += 1;
            }
            Operator::Block { .. }
            | Operator::If { .. }
            | Operator::Try { .. }
            | Operator::TryTable { .. } => blocks.push(false),
            Operator::End | Operator::Delegate { .. } => {
                loops -= usize::from(blocks.pop() == Some(true));
            }
            _ => {}
        }
        let site = match (&op, previous) {
            (Operator::Unreachable, Some((callee, call))) => {
                let sig = info.func_type(callee)?;
                Some(ColdSite {
                    offset: call,
                    callee,
                    params: encoder_types(sig.params())?,
                    callee_results: sig.results().len(),
                })
            }
            (Operator::Unreachable, None) => Some(ColdSite::trap(relative, trap)),
            (op, _) if starts_trap(op, divisor) => Some(ColdSite::trap(relative, trap)),
            _ => None,
        };
        if let Some(site) = site {
            site_in_loop |= loops > 0;
            sites.push(site);
        }
        previous = match op {
            Operator::Call { function_index } => function_index
                .checked_sub(info.imported_funcs)
                .filter(|&i| may_unwind.get(i as usize).copied().unwrap_or(false))
                .map(|_| (function_index, relative)),
            _ => None,
        };
    }
    Ok((sites, site_in_loop))
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
