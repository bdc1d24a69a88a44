//! Frame recorders and cold-path trampolines: functions that record a frame
//! from the locals a site passes them.
//!
//! Which locals a site records is planned here, site by site ([`Locals`]):
//! recording a local keeps it alive up to the site, and every local kept
//! alive that the program itself no longer needs costs run time in V8's
//! optimized code (on an SQLite build, recording every local at every call
//! made queries 1.35x slower, recording the named ones 1.00x to 1.03x; README
//! has the figures).
//! The locals a site does not record are written as missing.
//!
//! A *recorder* takes `(new, orig, func, nlocals, (gap, value)*, tail)`:
//! the frame header, then each recorded local's value after the `gap`
//! locals before it that are not recorded, and the `tail` after the last.
//! There is one per list of recorded value types, shared by every function.
//!
//! Sites that branch to a landing pad branch to the pad of the locals they
//! record: a function has one pad per set of locals its sites record (at
//! most [`MAX_PADS`]). A local is then kept alive only up to the sites that
//! record it.
//!
//! A *trampoline* stands for a call that never returns normally: a call to a
//! function followed by `unreachable` (a panic), or the start of a trap. It
//! takes the callee's arguments, then the recorder's, makes the call, and
//! records the caller's frame when it unwinds (it catches the tag and throws
//! it again, or, unwinding with checks, sees the flag when the call
//! returns). Because the locals are arguments, none of them stays live
//! across the cold call. Branching to the landing pad instead keeps them
//! live across it, and V8's TurboFan then spills them where they are
//! defined, on the hot path: a recursive Fibonacci with an overflow check
//! ran 1.31x the original that way, 1.08x with a trampoline. Each site
//! passes its recorded locals (four bytes each), so only sites that record
//! at most [`MAX_PASSED_LOCALS`] get trampolines.

use std::collections::HashMap;

use wasm_encoder::{BlockType, Function, InstructionSink, ValType};
use wasmparser::{Operator, OperatorsReader};

use super::{G, Rt, Runtime, divisor_check, helper_for, pushed_constant};
use crate::analysis::{LoopCalls, memory_access};
use crate::error::{Error, unsupported};
use crate::locals::LocalSet;
use crate::module::ModuleInfo;
use crate::named_locals::NamedLocals;
use crate::stale::{MAX_ANALYZED_LOCALS, StaleLocals};
use crate::types::TypeRegistry;
use crate::{Options, RecordLocals};

/// Sites that record more locals than this branch to a landing pad
/// (code size: each trampoline call passes them).
pub(crate) const MAX_PASSED_LOCALS: usize = 10;

/// A function has at most this many landing pads; the sites of the sets of
/// locals recorded least often share one pad that records their union.
pub(crate) const MAX_PADS: usize = 16;

/// A recorder takes at most this many values (a function takes at most
/// 1,000 params); a frame that records more is recorded by a recorder and
/// appenders, each taking the next values.
const MAX_RECORDED_VALUES: usize = 400;

/// One generated function.
#[derive(Debug)]
enum Helper {
    /// Records a frame whose recorded locals have these types (and, without
    /// the header, appends to the frame being recorded).
    Recorder { types: Vec<ValType>, header: bool },
    /// `Fill(n)`: writes `n` missing locals.
    Fill,
    /// Calls `callee`, then records the frame with the recorder `recorder`
    /// and returns zeros of `results` (the caller's results).
    Trampoline {
        callee: u32,
        params: Vec<ValType>,
        callee_results: usize,
        recorder: u32,
        recorded: Vec<ValType>,
        results: Vec<ValType>,
    },
}

/// The recorders and trampolines of a module, numbered from a base index,
/// and the locals each site records.
#[derive(Debug)]
pub(crate) struct Recorders {
    base: u32,
    helpers: Vec<Helper>,
    /// (recorded value types, with the header) -> recorder.
    recorders: HashMap<(Vec<ValType>, bool), u32>,
    /// (callee, recorded value types, caller's results) -> trampoline.
    trampolines: HashMap<(u32, Vec<ValType>, Vec<ValType>), u32>,
    /// Instrumented function -> what its sites record.
    functions: HashMap<u32, FunctionPlan>,
}

/// What the sites of one function record. A module can have hundreds of
/// thousands of sites (every load and store with `check_memory`), and most
/// branch to the first landing pad: only the others are kept.
#[derive(Debug, Default)]
struct FunctionPlan {
    /// Its sites that do not branch to the first landing pad, by
    /// increasing body-relative offset.
    sites: Vec<Planned>,
    /// The set of locals of each landing pad, innermost first.
    pads: Vec<LocalSet>,
    /// The sets of locals the sites that call a trampoline pass.
    passed: Vec<LocalSet>,
}

/// What one site records, and how.
#[derive(Debug, Clone, Copy)]
struct Planned {
    /// Body-relative offset of its instruction.
    offset: u32,
    /// How it records the frame.
    how: Recording,
}

/// How a site records its frame.
#[derive(Debug, Clone, Copy)]
enum Recording {
    /// It branches to this landing pad (an index into the function's pads).
    Pad(u32),
    /// It calls this trampoline, passing the locals of `passed[passes]`.
    Trampoline { trampoline: u32, passes: u32 },
}

/// The local types (params first) and result types of a defined function.
pub(crate) struct Frame {
    pub locals: Vec<ValType>,
    pub params: usize,
    pub results: Vec<ValType>,
}

impl Frame {
    /// The frame layout of defined function `index` (without imports).
    pub fn of(info: &ModuleInfo<'_>, index: usize) -> Result<Self, Error> {
        let body = info.function_body(index);
        let func = info.imported_funcs + index as u32;
        let located = |e: Error| e.located(info.function_offset(func));
        let sig = info.func_type(func).map_err(located)?;
        let mut locals = encoder_types(sig.params()).map_err(located)?;
        let params = locals.len();
        for group in body.get_locals_reader()? {
            let (count, ty) = group?;
            let ty = encoder_types(&[ty]).map_err(located)?[0];
            locals.extend(std::iter::repeat_n(ty, count as usize));
        }
        Ok(Frame {
            locals,
            params,
            results: encoder_types(sig.results()).map_err(located)?,
        })
    }

    /// Its locals whose values a recorder can write (numbers).
    fn recordable(&self) -> LocalSet {
        let mut set = LocalSet::default();
        for (i, ty) in self.locals.iter().enumerate() {
            if matches!(
                ty,
                ValType::I32 | ValType::I64 | ValType::F32 | ValType::F64
            ) {
                set.insert(i as u32);
            }
        }
        set
    }
}

/// Which locals a site records, as [`RecordLocals`] says, for one function.
struct Locals<'a> {
    mode: RecordLocals,
    frame: &'a Frame,
    /// Locals a recorder can write at all.
    recordable: LocalSet,
    /// What the DWARF names, where the mode asks.
    named: &'a NamedLocals,
    /// The function's DWARF address and index.
    pc: u64,
    index: usize,
    /// For [`RecordLocals::All`]: the analysis of locals to leave out.
    stale: Option<(StaleLocals, bool)>,
}

impl Locals<'_> {
    /// The locals the site `offset` bytes into the body records.
    fn at(&mut self, offset: u32, cold: bool) -> LocalSet {
        let params = || LocalSet::first(self.frame.params);
        let mut set = match self.mode {
            RecordLocals::Params => params(),
            // (A cold site records the params too: the crash reason is read
            // from those of the frames on the way to a panic.)
            RecordLocals::Named => match self.named.at(self.index, self.pc + offset as u64) {
                Some(mut named) if self.named.names_any(self.index) => {
                    if cold {
                        named.union_with(&params());
                    }
                    named
                }
                _ => params(),
            },
            RecordLocals::All => {
                let mut all = LocalSet::first(self.frame.locals.len());
                match &mut self.stale {
                    // Stale locals at cold sites, where the frame passes
                    // its locals to trampolines.
                    Some((stale, true)) if cold => {
                        all.remove_all(&LocalSet::from_mask(stale.stale_at(offset)));
                    }
                    // Loop values no variable lives in, where it does not.
                    Some((stale, false)) => {
                        let mut left_out = LocalSet::from_mask(stale.loop_values_at(offset));
                        if let Some(named) = self.named.at(self.index, self.pc + offset as u64) {
                            left_out.remove_all(&named);
                            all.remove_all(&left_out);
                        }
                    }
                    _ => {}
                }
                all
            }
        };
        set = set.below(self.frame.locals.len());
        let mut unrecordable = LocalSet::first(self.frame.locals.len());
        unrecordable.remove_all(&self.recordable);
        set.remove_all(&unrecordable);
        set
    }
}

impl Recorders {
    /// Plans every recorder and trampoline the instrumented functions will
    /// call, numbered from `base`, and what each site records. Trampolines
    /// are planned for the cold sites `instrument` finds: calls to
    /// functions that can unwind followed by `unreachable`, and trap points
    /// that start unwinding at once.
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
            helpers: vec![Helper::Fill],
            recorders: HashMap::new(),
            trampolines: HashMap::new(),
            functions: HashMap::new(),
        };
        let trap = rt.func(Rt::Trap);
        let instrumented: Vec<usize> = (0..may_unwind.len()).filter(|&i| may_unwind[i]).collect();
        let named = match options.record_locals {
            RecordLocals::Params => NamedLocals::default(),
            _ => NamedLocals::read(info, &instrumented),
        };
        let code = info.code_payload_start();
        for index in instrumented {
            let frame = Frame::of(info, index)?;
            let func = info.imported_funcs + index as u32;
            let ops = info.function_body(index).get_operators_reader()?;
            let start = info.body(index).start;
            let sites = Sites::of(info, may_unwind, options, ops.clone(), start, trap)?;
            // Without `keep_stale_locals`, recording every local leaves out
            // stale locals at cold sites in loops where the frame passes
            // its locals, and loop values where it branches to its pad.
            let passes = frame.locals.len() <= MAX_PASSED_LOCALS;
            let analyze = options.record_locals == RecordLocals::All
                && !options.keep_stale_locals
                && frame.locals.len() <= MAX_ANALYZED_LOCALS
                && match passes {
                    true => sites.cold_in_loop,
                    false => loop_without_calls[index],
                };
            let stale = match analyze {
                true => Some((
                    StaleLocals::analyze(ops, start, frame.locals.len())?,
                    passes,
                )),
                false => None,
            };
            let mut locals = Locals {
                mode: options.record_locals,
                recordable: frame.recordable(),
                frame: &frame,
                named: &named,
                pc: (start - code) as u64,
                index,
                stale,
            };
            let mut planned = Vec::with_capacity(sites.list.len());
            for site in sites.list {
                let recorded = locals.at(site.offset, site.cold.is_some());
                let trampoline = match site.cold {
                    Some(cold)
                        if recorded.len() <= MAX_PASSED_LOCALS
                            && cold.params.len() <= MAX_RECORDED_VALUES
                            && has_zeros(&frame.results) =>
                    {
                        Some(plan.add_trampoline(cold, &frame, &recorded))
                    }
                    _ => None,
                };
                planned.push((site.offset, recorded, trampoline));
            }
            let pads = pads(
                planned
                    .iter_mut()
                    .filter(|(.., t)| t.is_none())
                    .map(|(_, set, _)| set),
            );
            // (Each site branching to a pad records one of these sets.)
            for set in &pads {
                plan.add_recorders(&frame, set);
            }
            let mut function = FunctionPlan::default();
            for (offset, locals, trampoline) in planned {
                let how = match trampoline {
                    Some(trampoline) => {
                        function.passed.push(locals);
                        let passes = function.passed.len() as u32 - 1;
                        Recording::Trampoline { trampoline, passes }
                    }
                    None => {
                        let pad = pads.iter().position(|p| *p == locals);
                        Recording::Pad(pad.map_or(0, |p| p as u32))
                    }
                };
                function.add(Planned { offset, how });
            }
            function.pads = pads;
            if !function.pads.is_empty() || !function.sites.is_empty() {
                function.sites.shrink_to_fit();
                plan.functions.insert(func, function);
            }
        }
        Ok(plan)
    }

    /// What the site `offset` bytes into the body of function `func`
    /// records, and the plan of its function; `None` for a site that
    /// branches to the first landing pad.
    fn site(&self, func: u32, offset: u32) -> Option<(&FunctionPlan, Recording)> {
        let function = self.functions.get(&func)?;
        let i = function.sites.partition_point(|s| s.offset < offset);
        let site = function.sites.get(i).filter(|s| s.offset == offset)?;
        Some((function, site.how))
    }

    /// Adds the recorders a frame recording `locals` calls, if new: one per
    /// [`MAX_RECORDED_VALUES`] of them.
    fn add_recorders(&mut self, frame: &Frame, locals: &LocalSet) {
        for (types, header) in chunks(frame, locals) {
            let key = (types, header);
            if !self.recorders.contains_key(&key) {
                let i = self.base + self.helpers.len() as u32;
                let (types, header) = key.clone();
                self.helpers.push(Helper::Recorder { types, header });
                self.recorders.insert(key, i);
            }
        }
    }

    /// Adds the trampoline of a cold site that records `locals` (at most
    /// [`MAX_PASSED_LOCALS`]), if new.
    fn add_trampoline(&mut self, site: ColdSite, frame: &Frame, locals: &LocalSet) -> u32 {
        self.add_recorders(frame, locals);
        let recorded: Vec<ValType> = locals.iter().map(|i| frame.locals[i as usize]).collect();
        let recorder = self.recorders[&(recorded.clone(), true)];
        let key = (site.callee, recorded.clone(), frame.results.clone());
        if let Some(&i) = self.trampolines.get(&key) {
            return i;
        }
        let i = self.base + self.helpers.len() as u32;
        self.helpers.push(Helper::Trampoline {
            callee: site.callee,
            params: site.params,
            callee_results: site.callee_results,
            recorder,
            recorded,
            results: frame.results.clone(),
        });
        self.trampolines.insert(key, i);
        i
    }

    /// The index just past the last helper.
    pub fn end(&self) -> u32 {
        self.base + self.helpers.len() as u32
    }

    /// The set of locals of each landing pad of function `func`, innermost
    /// first.
    pub fn pads(&self, func: u32) -> &[LocalSet] {
        self.functions.get(&func).map_or(&[], |f| &f.pads)
    }

    /// The landing pad the site `offset` bytes into the body of function
    /// `func` branches to (0 for a site that calls a trampoline instead).
    pub fn pad(&self, func: u32, offset: u32) -> usize {
        match self.site(func, offset) {
            Some((_, Recording::Pad(pad))) => pad as usize,
            _ => 0,
        }
    }

    /// The trampoline of the cold site `offset` bytes into the body of
    /// function `func`, if it has one, and the locals the site passes it.
    pub fn trampoline(&self, func: u32, offset: u32) -> Option<(u32, &LocalSet)> {
        match self.site(func, offset)? {
            (function, Recording::Trampoline { trampoline, passes }) => {
                Some((trampoline, &function.passed[passes as usize]))
            }
            (_, Recording::Pad(_)) => None,
        }
    }

    /// Pushes a recorder's arguments after `new` and `orig`, for a cold site
    /// (which records at most [`MAX_PASSED_LOCALS`]): `func`, the frame's
    /// local count, each local of `locals` after the count of those left
    /// out before it, and the count left out after the last.
    pub fn push_arguments(
        s: &mut InstructionSink<'_>,
        func: u32,
        frame: &Frame,
        locals: &LocalSet,
    ) {
        s.i32_const(func as i32)
            .i32_const(frame.locals.len() as i32);
        let end = push_values(s, frame, &locals.iter().collect::<Vec<_>>(), 0);
        s.i32_const((frame.locals.len() as u32 - end) as i32);
    }

    /// Records the frame of function `func` with `locals`, `new` and
    /// `orig` pushed: calls its recorder, then its appenders.
    pub fn record(&self, s: &mut InstructionSink<'_>, func: u32, frame: &Frame, locals: &LocalSet) {
        let all: Vec<u32> = locals.iter().collect();
        let mut next = 0;
        for (k, (types, header)) in chunks(frame, locals).into_iter().enumerate() {
            if header {
                s.i32_const(func as i32)
                    .i32_const(frame.locals.len() as i32);
            }
            let values = &all[k * MAX_RECORDED_VALUES..][..types.len()];
            next = push_values(s, frame, values, next);
            // (Each takes the count left out after its last value: those up
            // to the next one's first value, or to the end.)
            let until = all.get((k + 1) * MAX_RECORDED_VALUES).copied();
            let until = until.unwrap_or(frame.locals.len() as u32);
            s.i32_const((until - next) as i32);
            next = until;
            s.call(self.recorders[&(types, header)]);
        }
    }

    /// The helper functions, in index order: (type index, body).
    pub fn functions(&self, rt: &Runtime, types: &mut TypeRegistry) -> Vec<(u32, Function)> {
        let fill = self.base;
        self.helpers
            .iter()
            .map(|helper| match helper {
                Helper::Fill => (types.func(&[ValType::I32], &[]), fill_missing(rt)),
                Helper::Recorder {
                    types: recorded,
                    header,
                } => {
                    let params = recorder_params(recorded, *header);
                    (
                        types.func(&params, &[]),
                        recorder(rt, fill, recorded, *header),
                    )
                }
                Helper::Trampoline {
                    callee,
                    params,
                    callee_results,
                    recorder,
                    recorded,
                    results,
                } => {
                    let all = [&params[..], &recorder_params(recorded, true)].concat();
                    let mut f = Function::new([]);
                    let mut s = f.instructions();
                    let record = |s: &mut InstructionSink<'_>| {
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

impl FunctionPlan {
    /// Adds the next site (at an offset no lower than the last's), kept
    /// unless it branches to the first landing pad. A site at the same
    /// offset as the last replaces it (the call-depth check on entry and a
    /// site at the first instruction: the instruction's).
    fn add(&mut self, site: Planned) {
        debug_assert!(self.sites.last().is_none_or(|s| s.offset <= site.offset));
        if self
            .sites
            .last()
            .is_some_and(|last| last.offset == site.offset)
        {
            self.sites.pop();
        }
        if !matches!(site.how, Recording::Pad(0)) {
            self.sites.push(site);
        }
    }
}

/// Pushes each of `values` (local indices, increasing, from `next` on)
/// after the count of locals left out before it; returns the index after
/// the last.
fn push_values(s: &mut InstructionSink<'_>, frame: &Frame, values: &[u32], mut next: u32) -> u32 {
    debug_assert!(values.iter().all(|&i| (i as usize) < frame.locals.len()));
    for &i in values {
        s.i32_const((i - next) as i32).local_get(i);
        next = i + 1;
    }
    next
}

/// The recorders a frame recording `locals` calls: (value types, whether
/// it writes the header), [`MAX_RECORDED_VALUES`] values each, at least one.
fn chunks(frame: &Frame, locals: &LocalSet) -> Vec<(Vec<ValType>, bool)> {
    let types: Vec<ValType> = locals.iter().map(|i| frame.locals[i as usize]).collect();
    let mut chunks: Vec<(Vec<ValType>, bool)> = (types.chunks(MAX_RECORDED_VALUES))
        .enumerate()
        .map(|(k, chunk)| (chunk.to_vec(), k == 0))
        .collect();
    if chunks.is_empty() {
        chunks.push((Vec::new(), true));
    }
    chunks
}

/// A recorder's params: `new, orig, func, nlocals` (with the header), a
/// gap before each recorded value, and the gap after the last.
fn recorder_params(recorded: &[ValType], header: bool) -> Vec<ValType> {
    let mut params = vec![ValType::I32; if header { 4 } else { 0 }];
    for &ty in recorded {
        params.extend([ValType::I32, ty]);
    }
    params.push(ValType::I32);
    params
}

/// Chooses the landing pads of one function from the sets of locals its
/// sites record: one per set, the most used first, at most [`MAX_PADS`];
/// the sites of the other sets record their union, in the last pad.
fn pads<'a>(sets: impl Iterator<Item = &'a mut LocalSet>) -> Vec<LocalSet> {
    let mut sets: Vec<&mut LocalSet> = sets.collect();
    let mut counts: HashMap<&LocalSet, usize> = HashMap::new();
    for set in &sets {
        *counts.entry(&**set).or_default() += 1;
    }
    let mut by_use: Vec<(LocalSet, usize)> =
        counts.into_iter().map(|(s, n)| (s.clone(), n)).collect();
    // (The larger set first on a tie, so that the choice is stable.)
    by_use.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
    let mut pads: Vec<LocalSet> = by_use.into_iter().map(|(s, _)| s).collect();
    if pads.len() > MAX_PADS {
        let mut union = LocalSet::default();
        for rest in &pads[MAX_PADS - 1..] {
            union.union_with(rest);
        }
        let kept = pads[..MAX_PADS - 1].to_vec();
        for set in &mut sets {
            if !kept.contains(set) {
                **set = union.clone();
            }
        }
        pads = kept;
        pads.push(union);
    }
    pads
}

/// A cold site's call: what its trampoline calls.
struct ColdSite {
    callee: u32,
    /// The callee's param types and result count.
    params: Vec<ValType>,
    callee_results: usize,
}

impl ColdSite {
    /// A trap point: its trampoline calls `trap` (the runtime's
    /// `Trap(kind)`).
    fn trap(trap: u32) -> Self {
        ColdSite {
            callee: trap,
            params: vec![ValType::I32],
            callee_results: 0,
        }
    }
}

/// One site `instrument` makes record the frame.
struct Site {
    /// Body-relative offset of its instruction (the call, for a call
    /// followed by `unreachable`).
    offset: u32,
    /// For a cold site, what a trampoline would call.
    cold: Option<ColdSite>,
}

/// The sites of a body.
struct Sites {
    list: Vec<Site>,
    /// Whether a cold site is inside a loop.
    cold_in_loop: bool,
}

impl Sites {
    /// The sites of a body whose first byte is at `start`, as `instrument`
    /// makes them: the call-depth check on entry, calls that can unwind,
    /// trap points, and checked memory accesses.
    fn of(
        info: &ModuleInfo<'_>,
        may_unwind: &[bool],
        options: &Options,
        mut ops: OperatorsReader<'_>,
        start: usize,
        trap: u32,
    ) -> Result<Self, Error> {
        let mut sites = Sites {
            list: Vec::new(),
            cold_in_loop: false,
        };
        if options.max_call_depth.is_some() {
            let entry = (ops.original_position() as usize - start) as u32;
            sites.list.push(Site {
                offset: entry,
                cold: Some(ColdSite::trap(trap)),
            });
        }
        let mut loops = LoopCalls::default();
        // A call that can unwind, just read: (callee, offset), the callee
        // `None` for an indirect call.
        let mut previous: Option<(Option<u32>, u32)> = None;
        let mut constant = None;
        while !ops.eof() {
            let (op, offset) = ops.read_with_offset()?;
            let divisor = std::mem::replace(&mut constant, pushed_constant(&op));
            let relative = (offset as usize - start) as u32;
            loops.visit(&op);
            if options.check_memory && memory_access(&op).is_some() {
                sites.list.push(Site {
                    offset: relative,
                    cold: None,
                });
            }
            let after_call = previous.is_some() && matches!(op, Operator::Unreachable);
            match (&op, previous) {
                // The call before becomes cold: a trampoline calls it.
                (Operator::Unreachable, Some((Some(callee), call))) => {
                    let located = |e: Error| e.located((start + call as usize) as u64);
                    let sig = info.func_type(callee).map_err(located)?;
                    let site = sites.list.last_mut().filter(|s| s.offset == call);
                    if let Some(site) = site {
                        site.cold = Some(ColdSite {
                            callee,
                            params: encoder_types(sig.params()).map_err(located)?,
                            callee_results: sig.results().len(),
                        });
                        sites.cold_in_loop |= loops.in_loop();
                    }
                }
                // (`instrument` leaves an `unreachable` after a guarded
                // call as it is.)
                (Operator::Unreachable, Some((None, _))) => {}
                (op, _) if !after_call && helper_for(op, divisor).is_some() => {
                    let starts = matches!(op, Operator::Unreachable)
                        || helper_for(op, divisor).and_then(divisor_check).is_some();
                    sites.cold_in_loop |= starts && loops.in_loop();
                    sites.list.push(Site {
                        offset: relative,
                        cold: starts.then(|| ColdSite::trap(trap)),
                    });
                }
                _ => {}
            }
            previous = match op {
                Operator::Call { function_index } => function_index
                    .checked_sub(info.imported_funcs)
                    .filter(|&i| may_unwind.get(i as usize).copied().unwrap_or(false))
                    .map(|_| (Some(function_index), relative)),
                Operator::CallIndirect { .. } | Operator::CallRef { .. } => Some((None, relative)),
                _ => None,
            };
            if previous.is_some() {
                sites.list.push(Site {
                    offset: relative,
                    cold: None,
                });
            }
        }
        Ok(sites)
    }
}

/// `Fill(n)`: `n` missing locals.
fn fill_missing(rt: &Runtime) -> Function {
    let mut f = Function::new([]);
    let mut s = f.instructions();
    s.block(BlockType::Empty).loop_(BlockType::Empty);
    s.local_get(0).i32_eqz().br_if(1);
    s.call(rt.func(Rt::Missing));
    s.local_get(0).i32_const(1).i32_sub().local_set(0);
    s.br(0).end().end().end();
    f
}

/// `Recorder(new, orig, func, nlocals, (gap, value)*, tail)`: the frame
/// header, then the locals, those not passed as missing; without the
/// header, `((gap, value)*, tail)` appends to the frame being recorded.
fn recorder(rt: &Runtime, fill: u32, recorded: &[ValType], header: bool) -> Function {
    let mut f = Function::new([]);
    let mut s = f.instructions();
    let first = match header {
        true => {
            s.local_get(0).local_get(1).local_get(2).local_get(3);
            s.call(rt.func(Rt::Frame));
            4
        }
        false => 0,
    };
    for (k, ty) in recorded.iter().enumerate() {
        let gap = first + 2 * k as u32;
        s.local_get(gap).call(fill);
        let value = match ty {
            ValType::I32 => Rt::I32,
            ValType::I64 => Rt::I64,
            ValType::F32 => Rt::F32,
            _ => Rt::F64,
        };
        s.local_get(gap + 1).call(rt.func(value));
    }
    s.local_get(first + 2 * recorded.len() as u32).call(fill);
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
                    None,
                ));
            }
        };
    }
    Ok(())
}

fn encoder_types(types: &[wasmparser::ValType]) -> Result<Vec<ValType>, Error> {
    types
        .iter()
        .map(|&t| crate::instrument::encoder_type(t))
        .collect()
}
