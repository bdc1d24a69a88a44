//! Which locals a site leaves out of its frame, recorded as missing.
//!
//! A site (a call that can unwind, a trap point) records every local of its
//! frame: a cold site passes them to a trampoline, the others branch to the
//! function's landing pad, which reads them. That use keeps each local alive
//! up to the site. For most locals this costs nothing: their value is live
//! there anyway. Around a loop it can cost a lot: V8's TurboFan then carries
//! the value from iteration to iteration, or out of the loop at each exit,
//! in a register or a spill slot. Two kinds of locals are left out:
//!
//! - *Stale* locals, at a cold site inside a loop, of functions that pass
//!   their locals to trampolines: the program never reads the value there
//!   again, an enclosing loop assigns the local but does not read it on
//!   entry, and on some path from that loop's header to the site it is not
//!   assigned, so its value at the site can be left over from an earlier
//!   iteration. A sieve of Eratosthenes with overflow checks ran 1.19x the
//!   original with them recorded, 1.02x without.
//! - *Loop values* that no variable lives in, at sites of functions with a
//!   landing pad: a loop without calls before the site assigns the local,
//!   the program never reads it at the site again, and the input's DWARF
//!   names it in no variable's location there (see `crate::named_locals`;
//!   without DWARF every local counts as named). SHA-256, whose function
//!   has 28 locals, ran 1.17x the original with them recorded, 1.00x
//!   without. (Loops with calls are left alone: V8 keeps no value in a
//!   register across a call anyway.)
//!
//! Either way the value is one the program has finished with. With
//! [`crate::Options::keep_stale_locals`] every local is recorded.
//!
//! In dataflow terms: with liveness computed once as the program stands and
//! once with a use of every local added at the site, a local is stale when
//! it is assigned in an enclosing loop and the added use alone makes it live
//! at that loop's header; a loop value is dead at the site as the program
//! stands.

use std::collections::{HashMap, HashSet};

use wasmparser::{Operator, OperatorsReader};

use crate::analysis::LoopCalls;
use crate::error::Error;

/// Bodies with more locals (params included) are not analyzed: a set of
/// locals is a `u32` mask.
pub(crate) const MAX_ANALYZED_LOCALS: usize = 32;

/// Bodies with more operators are not analyzed (every local is recorded).
const MAX_OPERATORS: usize = 100_000;

/// How many operator visits the analysis of one body may take (one per
/// operator for each cold site); past it, the remaining sites record every
/// local.
const BUDGET: usize = 4_000_000;

/// The stale locals of one function, found site by site.
pub(crate) struct StaleLocals {
    /// The body's flow, or `None` when it is not analyzed.
    flow: Option<Flow>,
    /// Locals live on entry to each operator, as the program stands.
    live_in: Vec<u32>,
    /// Operator visits left.
    budget: usize,
    /// Every local of the body (bit `i`: local `i`).
    locals: u32,
}

impl StaleLocals {
    /// Prepares the analysis of a body with `locals` locals (params
    /// included); `body_start` is the body's offset in the module. A body
    /// that branches in ways not modelled here (exception handling, GC
    /// branches), or that has more than 32 locals, is not analyzed: every
    /// local is recorded at each of its sites.
    pub fn analyze(
        ops: OperatorsReader<'_>,
        body_start: usize,
        locals: usize,
    ) -> Result<Self, Error> {
        let flow = match locals <= MAX_ANALYZED_LOCALS {
            true => Flow::of(ops, body_start)?,
            false => None,
        };
        let n = flow.as_ref().map_or(0, |f| f.uses.len());
        let live_in = match &flow {
            Some(f) => f.liveness(&vec![0; n], None),
            None => Vec::new(),
        };
        Ok(StaleLocals {
            flow,
            live_in,
            budget: BUDGET,
            locals: 1u32.checked_shl(locals as u32).map_or(u32::MAX, |b| b - 1),
        })
    }

    /// The stale locals at the site whose instruction starts `offset` bytes
    /// into the body (bit `i`: local `i`).
    pub fn stale_at(&mut self, offset: u32) -> u32 {
        let Some((flow, at)) = site(&self.flow, offset) else {
            return 0;
        };
        if flow.innermost_loop[at].is_none() || self.budget < self.live_in.len() {
            return 0;
        }
        self.budget -= self.live_in.len();
        let with_use = flow.liveness(&self.live_in, Some(at));
        let mut stale = 0;
        let mut around = flow.innermost_loop[at];
        while let Some(l) = around {
            let assigned = flow.loop_assigned.get(&l).copied().unwrap_or(0);
            stale |= with_use[l] & !self.live_in[l] & assigned;
            around = flow.innermost_loop[l];
        }
        stale & self.locals
    }

    /// The loop values at the site whose instruction starts `offset` bytes
    /// into the body: the locals a loop without calls before it assigns
    /// that the program does not read there again.
    pub fn loop_values_at(&self, offset: u32) -> u32 {
        let Some((flow, at)) = site(&self.flow, offset) else {
            return 0;
        };
        // (Only a loop that starts before the site can reach it.)
        let before = flow.call_free_assigned.partition_point(|&(l, _)| l < at);
        match before.checked_sub(1) {
            Some(last) => flow.call_free_assigned[last].1 & !self.live_in[at] & self.locals,
            None => 0,
        }
    }
}

/// The flow, if analyzed, and the operator index of the site at `offset`.
fn site(flow: &Option<Flow>, offset: u32) -> Option<(&Flow, usize)> {
    let flow = flow.as_ref()?;
    Some((flow, flow.offsets.binary_search(&offset).ok()?))
}

/// A body's control flow, one node per operator.
struct Flow {
    /// Locals each operator reads.
    uses: Vec<u32>,
    /// Locals each operator assigns.
    defs: Vec<u32>,
    succs: Edges,
    preds: Edges,
    /// For each operator, the innermost `loop` operator enclosing it.
    innermost_loop: Vec<Option<usize>>,
    /// For each `loop` operator, the locals assigned anywhere in the loop.
    loop_assigned: HashMap<usize, u32>,
    /// Each `loop` operator, in order, with the locals that it or a loop
    /// without calls before it assigns.
    call_free_assigned: Vec<(usize, u32)>,
    /// Body-relative offset of each operator.
    offsets: Vec<u32>,
}

/// "No index" in [`Flow::of`]'s tables.
const NONE: usize = usize::MAX;

/// Edges of the flow graph from each operator, packed: the targets of
/// operator `i` are `list[start[i]..start[i + 1]]`.
#[derive(Default)]
struct Edges {
    start: Vec<u32>,
    list: Vec<u32>,
}

impl Edges {
    /// Adds the edges of the next operator.
    fn push(&mut self, targets: impl IntoIterator<Item = usize>) {
        if self.start.is_empty() {
            self.start.push(0);
        }
        self.list.extend(targets.into_iter().map(|t| t as u32));
        self.start.push(self.list.len() as u32);
    }

    /// The targets of operator `i`.
    fn of(&self, i: usize) -> &[u32] {
        &self.list[self.start[i] as usize..self.start[i + 1] as usize]
    }

    /// The same edges reversed, for `n` operators.
    fn reversed(&self, n: usize) -> Edges {
        let mut count = vec![0u32; n + 1];
        for &t in &self.list {
            count[t as usize + 1] += 1;
        }
        for i in 0..n {
            count[i + 1] += count[i];
        }
        let mut list = vec![0; self.list.len()];
        let mut next = count.clone();
        for i in 0..n {
            for &t in self.of(i) {
                list[next[t as usize] as usize] = i as u32;
                next[t as usize] += 1;
            }
        }
        Edges { start: count, list }
    }
}

/// An open block while the body is read.
struct Open {
    /// Index of the `block`, `loop` or `if`.
    start: usize,
    is_loop: bool,
    /// Index of the `else`, if any.
    else_at: Option<usize>,
}

/// Where a branch goes, before every block's end is known.
#[derive(Clone, Copy)]
enum Label {
    /// To the start of the loop at this index.
    Loop(usize),
    /// To the end of the block or `if` at this index.
    End(usize),
    /// Out of the function.
    Exit,
}

/// How an operator continues.
enum Next {
    FallThrough,
    /// `br`.
    Branch(Label),
    /// `br_if`: falls through or branches.
    MaybeBranch(Label),
    Table(Vec<Label>),
    /// `if`: into its body, or past its `else` / to its `end`.
    If,
    /// `else` of the `if` at this index, reached from the end of the `then`
    /// arm: to the `end`.
    Else(usize),
    /// `return`, `unreachable`, `throw`, tail calls, the body's `end`.
    Stop,
}

impl Flow {
    /// The flow of a body, or `None` when it uses control flow this
    /// analysis does not model or is too large.
    fn of(mut ops: OperatorsReader<'_>, body_start: usize) -> Result<Option<Self>, Error> {
        let mut uses = Vec::new();
        let mut defs = Vec::new();
        let mut nexts = Vec::new();
        let mut offsets = Vec::new();
        let mut innermost_loop = Vec::new();
        let mut open: Vec<Open> = Vec::new();
        // The open loops, innermost last: (index, locals assigned so far).
        let mut open_loops: Vec<(usize, u32)> = Vec::new();
        let mut loop_calls = LoopCalls::default();
        let mut calling_loops = HashSet::new();
        // For each `block`, `loop` or `if`: the index of its `end`, and of
        // an `if`'s `else` (`NONE` where there is none).
        let (mut end_of, mut else_of) = (Vec::new(), Vec::new());
        let mut loop_assigned = HashMap::new();
        let mut loops = Vec::new();
        while !ops.eof() {
            let (op, offset) = ops.read_with_offset()?;
            let i = nexts.len();
            if i == MAX_OPERATORS {
                return Ok(None);
            }
            offsets.push((offset as usize - body_start) as u32);
            end_of.push(NONE);
            else_of.push(NONE);
            innermost_loop.push(open_loops.last().map(|&(start, _)| start));
            let label = |depth: u32| match open.len().checked_sub(depth as usize + 1) {
                Some(k) if open[k].is_loop => Label::Loop(open[k].start),
                Some(k) => Label::End(open[k].start),
                None => Label::Exit,
            };
            let bit = |local: u32| 1u32.checked_shl(local).unwrap_or(0);
            let loop_end = loop_calls.visit(&op);
            let (mut used, mut assigned) = (0, 0);
            let next = match op {
                Operator::LocalGet { local_index } => {
                    used = bit(local_index);
                    Next::FallThrough
                }
                Operator::LocalSet { local_index } | Operator::LocalTee { local_index } => {
                    assigned = bit(local_index);
                    Next::FallThrough
                }
                Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                    let is_loop = matches!(op, Operator::Loop { .. });
                    if is_loop {
                        loops.push(i);
                        open_loops.push((i, 0));
                    }
                    open.push(Open {
                        start: i,
                        is_loop,
                        else_at: None,
                    });
                    match op {
                        Operator::If { .. } => Next::If,
                        _ => Next::FallThrough,
                    }
                }
                Operator::Else => match open.last_mut() {
                    Some(o) => {
                        o.else_at = Some(i);
                        Next::Else(o.start)
                    }
                    None => return Ok(None),
                },
                Operator::End => match open.pop() {
                    Some(o) => {
                        end_of[o.start] = i;
                        if o.is_loop
                            && let Some((start, assigned)) = open_loops.pop()
                        {
                            if loop_end == Some(true) {
                                calling_loops.insert(start);
                            }
                            loop_assigned.insert(start, assigned);
                            if let Some(outer) = open_loops.last_mut() {
                                outer.1 |= assigned;
                            }
                        }
                        if let Some(e) = o.else_at {
                            else_of[o.start] = e;
                        }
                        Next::FallThrough
                    }
                    None => Next::Stop,
                },
                Operator::Br { relative_depth } => Next::Branch(label(relative_depth)),
                Operator::BrIf { relative_depth } => Next::MaybeBranch(label(relative_depth)),
                Operator::BrTable { targets } => {
                    let mut all = Vec::with_capacity(targets.len() as usize + 1);
                    for depth in targets.targets() {
                        all.push(label(depth?));
                    }
                    all.push(label(targets.default()));
                    Next::Table(all)
                }
                Operator::Return
                | Operator::Unreachable
                | Operator::Throw { .. }
                | Operator::ThrowRef
                | Operator::ReturnCall { .. }
                | Operator::ReturnCallIndirect { .. }
                | Operator::ReturnCallRef { .. } => Next::Stop,
                Operator::Try { .. }
                | Operator::Catch { .. }
                | Operator::CatchAll
                | Operator::Delegate { .. }
                | Operator::Rethrow { .. }
                | Operator::TryTable { .. }
                | Operator::BrOnNull { .. }
                | Operator::BrOnNonNull { .. }
                | Operator::BrOnCast { .. }
                | Operator::BrOnCastFail { .. } => return Ok(None),
                _ => Next::FallThrough,
            };
            uses.push(used);
            if let Some(innermost) = open_loops.last_mut() {
                innermost.1 |= assigned;
            }
            defs.push(assigned);
            nexts.push(next);
        }
        if !open.is_empty() {
            return Ok(None); // (a body without its `end`s)
        }
        let n = nexts.len();
        let known = |i: usize| (i != NONE).then_some(i);
        let target = |label: &Label| match *label {
            Label::Loop(start) => Some(start),
            Label::End(start) => known(end_of[start]),
            Label::Exit => None,
        };
        let mut succs = Edges::default();
        for (i, next) in nexts.iter().enumerate() {
            let fall = (i + 1 < n).then_some(i + 1);
            match next {
                Next::FallThrough => succs.push(fall),
                Next::Branch(l) => succs.push(target(l)),
                Next::MaybeBranch(l) => succs.push(fall.into_iter().chain(target(l))),
                Next::Table(ls) => succs.push(ls.iter().filter_map(target)),
                Next::If => {
                    let otherwise = known(else_of[i]).map(|e| e + 1).or(known(end_of[i]));
                    succs.push(fall.into_iter().chain(otherwise))
                }
                Next::Else(start) => succs.push(known(end_of[*start])),
                Next::Stop => succs.push(None),
            }
        }
        let preds = succs.reversed(n);
        let mut assigned_so_far = 0;
        let call_free_assigned = loops
            .iter()
            .map(|&l| {
                if !calling_loops.contains(&l) {
                    assigned_so_far |= loop_assigned.get(&l).copied().unwrap_or(0);
                }
                (l, assigned_so_far)
            })
            .collect();
        Ok(Some(Flow {
            uses,
            defs,
            succs,
            preds,
            innermost_loop,
            loop_assigned,
            call_free_assigned,
            offsets,
        }))
    }

    /// Locals live on entry to each operator. With `extra`, a use of every
    /// local is added at that operator, and `start` is the solution without
    /// it (liveness only grows from there); without, `start` is all zeros.
    fn liveness(&self, start: &[u32], extra: Option<usize>) -> Vec<u32> {
        let mut live_in = start.to_vec();
        let mut work: Vec<usize> = match extra {
            Some(i) => vec![i],
            None => (0..live_in.len()).collect(),
        };
        while let Some(i) = work.pop() {
            let out = self
                .succs
                .of(i)
                .iter()
                .fold(0, |acc, &s| acc | live_in[s as usize]);
            let used = if Some(i) == extra {
                u32::MAX
            } else {
                self.uses[i]
            };
            let new = used | (out & !self.defs[i]);
            if new != live_in[i] {
                live_in[i] = new;
                work.extend(self.preds.of(i).iter().map(|&p| p as usize));
            }
        }
        live_in
    }
}

#[cfg(test)]
mod tests {
    use wasmparser::{Operator, Parser, Payload};

    use super::StaleLocals;

    /// The stale locals at the first `i32.div_u` or `unreachable` of the one
    /// function of `wat`.
    fn stale_at_trap(wat: &str) -> u32 {
        at_trap(wat).0
    }

    /// The stale locals and the loop values at the first `i32.div_u` or
    /// `unreachable` of the one function of `wat`.
    fn at_trap(wat: &str) -> (u32, u32) {
        let module = wat::parse_str(wat).unwrap();
        for payload in Parser::new(0).parse_all(&module) {
            let Payload::CodeSectionEntry(body) = payload.unwrap() else {
                continue;
            };
            let start = body.range().start as usize;
            let locals = body
                .get_locals_reader()
                .unwrap()
                .into_iter()
                .map(|group| group.unwrap().0)
                .sum::<u32>();
            let params = 1;
            let ops = body.get_operators_reader().unwrap();
            let mut stale =
                StaleLocals::analyze(ops.clone(), start, (params + locals) as usize).unwrap();
            let mut reader = ops;
            while !reader.eof() {
                let (op, offset) = reader.read_with_offset().unwrap();
                if matches!(op, Operator::I32DivU | Operator::Unreachable) {
                    let offset = (offset as usize - start) as u32;
                    return (stale.stale_at(offset), stale.loop_values_at(offset));
                }
            }
        }
        panic!("no trap point");
    }

    /// A loop whose division has one stale local, `$tmp` (local 2).
    const LOOP: &str = include_str!("../tests/stale_loop.wat");

    #[test]
    fn a_local_left_over_from_the_last_iteration_is_stale() {
        assert_eq!(stale_at_trap(LOOP), 1 << 2);
    }

    #[test]
    fn a_local_the_program_may_still_read_is_not_stale() {
        // The loop can exit before the division, and `$tmp` is read after
        // it: its value from the last iteration may still be used.
        let wat = LOOP
            .replace(
                "(loop $next",
                "(block $done (loop $next (br_if $done (i32.eqz (local.get $n)))",
            )
            .replace(
                "(local.get $sum)))",
                ") (i32.add (local.get $sum) (local.get $tmp))))",
            );
        assert_eq!(stale_at_trap(&wat), 0);
    }

    #[test]
    fn a_local_set_on_only_some_paths_before_the_trap_is_stale() {
        // `$seen` (local 4) is set before the division only when `$i` is
        // odd, and always after it, before it is read.
        let wat = r#"
        (module (func (param $n i32) (result i32)
          (local $i i32) (local $tmp i32) (local $sum i32) (local $seen i32)
          (loop $next
            (if (i32.and (local.get $i) (i32.const 1))
              (then (local.set $seen (local.get $i))))
            (local.set $tmp (i32.div_u (local.get $n) (i32.sub (i32.const 10) (local.get $i))))
            (local.set $seen (local.get $tmp))
            (local.set $sum (i32.add (local.get $sum) (local.get $seen)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $next (i32.lt_u (local.get $i) (local.get $n))))
          (local.get $sum)))"#;
        assert_eq!(stale_at_trap(wat), (1 << 2) | (1 << 4));
    }

    #[test]
    fn a_trap_outside_loops_leaves_nothing_out() {
        let wat = r#"
        (module (func (param $x i32) (result i32) (local $dead i32)
          (local.set $dead (i32.const 5))
          (i32.div_u (i32.const 1) (local.get $x))))"#;
        assert_eq!(stale_at_trap(wat), 0);
    }

    #[test]
    fn a_value_unchanged_by_the_loop_is_not_stale() {
        // `$fixed` is dead but the loop never sets it: recording it costs
        // nothing around the loop.
        let wat = r#"
        (module (func (param $n i32) (result i32) (local $fixed i32) (local $i i32)
          (local.set $fixed (i32.const 5))
          (loop $next
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $next (i32.div_u (local.get $n) (local.get $i))))
          (local.get $i)))"#;
        assert_eq!(stale_at_trap(wat), 0);
    }

    #[test]
    fn a_panic_in_an_inner_loop_leaves_out_what_the_outer_loop_sets_later() {
        // At the `unreachable`, `$j` (local 2) was set in this outer
        // iteration; `$last` (local 3) only after the inner loop, in the
        // previous one.
        let wat = r#"
        (module (func (param $n i32) (result i32) (local $i i32) (local $j i32) (local $last i32)
          (loop $outer
            (local.set $j (i32.const 0))
            (loop $inner
              (if (i32.gt_u (local.get $j) (i32.const 1000)) (then unreachable))
              (local.set $j (i32.add (local.get $j) (local.get $i)))
              (br_if $inner (i32.lt_u (local.get $j) (local.get $n))))
            (local.set $last (local.get $j))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $outer (i32.lt_u (local.get $i) (local.get $n))))
          (local.get $i)))"#;
        assert_eq!(stale_at_trap(wat), 1 << 3);
    }

    /// A loop without calls, then a division that reads `$sum` and `$n`
    /// before it (locals 3 and 0): `TAIL` follows it.
    fn after_loop(call: &str, tail: &str) -> String {
        format!(
            r#"(module (import "env" "f" (func $f))
              (func (param $n i32) (result i32) (local $i i32) (local $x i32) (local $sum i32)
                (loop $next
                  {call}
                  (local.set $x (i32.mul (local.get $i) (i32.const 3)))
                  (local.set $sum (i32.add (local.get $sum) (local.get $x)))
                  (local.set $i (i32.add (local.get $i) (i32.const 1)))
                  (br_if $next (i32.lt_u (local.get $i) (local.get $n))))
                (i32.div_u (local.get $sum) (local.get $n)) {tail}))"#
        )
    }

    #[test]
    fn values_a_loop_left_that_the_program_does_not_read_can_be_left_out() {
        let at = at_trap(&after_loop("", ""));
        // $i, $x, $sum: the loop assigns them; none is read after the
        // division. None is stale: the division is after the loop.
        assert_eq!(at, (0, 0b1110));
        let read_after = at_trap(&after_loop("", "(local.get $x) (i32.add)"));
        assert_eq!(read_after, (0, 0b1010));
    }

    #[test]
    fn values_of_a_loop_with_a_call_are_kept() {
        // (V8 keeps no value in a register across a call anyway.)
        assert_eq!(at_trap(&after_loop("(call $f)", "")), (0, 0));
    }

    #[test]
    fn a_malformed_body_is_an_error_or_has_no_stale_locals() {
        let reader =
            |bytes| wasmparser::OperatorsReader::new(wasmparser::BinaryReader::new(bytes, 0));
        // loop  loop  local.set 0 (nothing pushed)  unreachable  end: the
        // outer loop never ends.
        let unclosed = [0x03, 0x40, 0x03, 0x40, 0x21, 0x00, 0x00, 0x0b];
        let mut stale = StaleLocals::analyze(reader(&unclosed), 0, 1).unwrap();
        assert_eq!((stale.stale_at(6), stale.loop_values_at(6)), (0, 0));
        // The same, then `else` outside any `if`.
        let stray_else = [0x03, 0x40, 0x03, 0x40, 0x21, 0x00, 0x00, 0x0b, 0x05];
        let err = StaleLocals::analyze(reader(&stray_else), 0, 1)
            .err()
            .unwrap();
        assert!(err.to_string().contains("offset 0x9"), "{err}");
    }

    #[test]
    fn a_body_with_exception_handling_is_not_analyzed() {
        let wat = LOOP.replace("(local.get $sum)))", "try catch_all end (local.get $sum)))");
        assert_eq!(stale_at_trap(&wat), 0);
    }
}
