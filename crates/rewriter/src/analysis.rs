//! Which functions can be on the stack when a trap unwinds: those with a trap
//! point, an indirect call, or a call to such a function. Only they are
//! instrumented; every other function is copied byte for byte.

use wasmparser::Operator;

use crate::Options;
use crate::error::Error;
use crate::module::ModuleInfo;
use crate::runtime::{helper_for, pushed_constant};

/// What the rewrite needs to know of the module's code.
pub(crate) struct Analysis {
    /// `may_unwind[i]` for every defined function `i` (index without imports).
    pub may_unwind: Vec<bool>,
    /// Where the first exception-handling instruction is, if some function uses one.
    pub exceptions_at: Option<u64>,
    /// `loop_without_calls[i]`: whether defined function `i` has a loop
    /// with no call in it (where a local kept alive costs the most).
    pub loop_without_calls: Vec<bool>,
}

/// Which functions may unwind, and whether the code handles exceptions.
pub(crate) fn analyze(info: &ModuleInfo<'_>, options: &Options) -> Result<Analysis, Error> {
    let imported = info.imported_funcs;
    let n = info.body_count();
    let mut exceptions_at = None;
    let mut unwinds = vec![false; n];
    let mut loop_without_calls = vec![false; n];
    // callers[callee] = functions calling it directly.
    let mut callers: Vec<Vec<u32>> = vec![Vec::new(); n];
    for i in 0..n {
        let body = info.function_body(i);
        let mut ops = body.get_operators_reader()?;
        let mut constant = None;
        let mut loops = LoopCalls::default();
        while !ops.eof() {
            let (op, offset) = ops.read_with_offset()?;
            let divisor = std::mem::replace(&mut constant, pushed_constant(&op));
            if loops.visit(&op) == Some(false) {
                loop_without_calls[i] = true;
            }
            match op {
                Operator::Call { function_index } | Operator::ReturnCall { function_index } => {
                    if let Some(callee) = function_index.checked_sub(imported)
                        && let Some(list) = callers.get_mut(callee as usize)
                    {
                        list.push(i as u32);
                    }
                }
                Operator::CallIndirect { .. }
                | Operator::ReturnCallIndirect { .. }
                | Operator::CallRef { .. }
                | Operator::ReturnCallRef { .. } => unwinds[i] = true,
                ref op if helper_for(op, divisor).is_some() => unwinds[i] = true,
                ref op if options.check_memory && memory_access(op).is_some() => unwinds[i] = true,
                Operator::Try { .. }
                | Operator::TryTable { .. }
                | Operator::Throw { .. }
                | Operator::ThrowRef
                | Operator::Rethrow { .. } => {
                    exceptions_at.get_or_insert(offset);
                }
                _ => {}
            }
        }
    }
    let mut work: Vec<u32> = (0..n as u32).filter(|&i| unwinds[i as usize]).collect();
    while let Some(f) = work.pop() {
        for &caller in &callers[f as usize] {
            if !unwinds[caller as usize] {
                unwinds[caller as usize] = true;
                work.push(caller);
            }
        }
    }
    if options.max_call_depth.is_some() {
        // Every function checks the depth on entry.
        unwinds.fill(true);
    }
    Ok(Analysis {
        may_unwind: unwinds,
        exceptions_at,
        loop_without_calls,
    })
}

/// Which loops of a body have a call in them, found operator by operator.
#[derive(Debug, Default)]
pub(crate) struct LoopCalls {
    /// The open blocks: for a loop, whether it has a call so far.
    blocks: Vec<Option<bool>>,
}

impl LoopCalls {
    /// Takes the body's next operator; at the `end` of a loop, tells
    /// whether the loop has a call in it (a call in a nested loop counts).
    pub fn visit(&mut self, op: &Operator<'_>) -> Option<bool> {
        let mark_innermost = |blocks: &mut Vec<Option<bool>>| {
            if let Some(calls) = blocks.iter_mut().rev().find_map(Option::as_mut) {
                *calls = true;
            }
        };
        match op {
            Operator::Loop { .. } => self.blocks.push(Some(false)),
            Operator::Block { .. }
            | Operator::If { .. }
            | Operator::Try { .. }
            | Operator::TryTable { .. } => self.blocks.push(None),
            Operator::End | Operator::Delegate { .. } => {
                let calls = self.blocks.pop().flatten();
                if calls == Some(true) {
                    mark_innermost(&mut self.blocks);
                }
                return calls;
            }
            Operator::Call { .. } | Operator::CallIndirect { .. } | Operator::CallRef { .. } => {
                mark_innermost(&mut self.blocks)
            }
            _ => {}
        }
        None
    }

    /// Whether the operators since the last `visit` are inside a loop.
    pub fn in_loop(&self) -> bool {
        self.blocks.iter().any(Option::is_some)
    }
}

/// A load or store that `--check-memory` checks: its static offset, its
/// access size, and for a store the type of the stored value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MemoryAccess {
    /// The static offset of the memarg.
    pub offset: u64,
    /// Bytes accessed.
    pub size: u64,
    /// For a store, the stored value's type.
    pub stored: Option<wasm_encoder::ValType>,
}

/// The plain loads and stores (SIMD, atomics and bulk memory
/// instructions are not checked).
pub(crate) fn memory_access(op: &Operator<'_>) -> Option<MemoryAccess> {
    use Operator::*;
    use wasm_encoder::ValType::{F32, F64, I32, I64};
    let (memarg, size, stored) = match *op {
        I32Load { memarg } | F32Load { memarg } | I64Load32S { memarg } | I64Load32U { memarg } => {
            (memarg, 4, None)
        }
        I64Load { memarg } | F64Load { memarg } => (memarg, 8, None),
        I32Load8S { memarg }
        | I32Load8U { memarg }
        | I64Load8S { memarg }
        | I64Load8U { memarg } => (memarg, 1, None),
        I32Load16S { memarg }
        | I32Load16U { memarg }
        | I64Load16S { memarg }
        | I64Load16U { memarg } => (memarg, 2, None),
        I32Store { memarg } => (memarg, 4, Some(I32)),
        I64Store { memarg } => (memarg, 8, Some(I64)),
        F32Store { memarg } => (memarg, 4, Some(F32)),
        F64Store { memarg } => (memarg, 8, Some(F64)),
        I32Store8 { memarg } => (memarg, 1, Some(I32)),
        I32Store16 { memarg } => (memarg, 2, Some(I32)),
        I64Store8 { memarg } => (memarg, 1, Some(I64)),
        I64Store16 { memarg } => (memarg, 2, Some(I64)),
        I64Store32 { memarg } => (memarg, 4, Some(I64)),
        _ => return None,
    };
    // The rewriter takes modules of one memory only.
    Some(MemoryAccess {
        offset: memarg.offset,
        size,
        stored,
    })
}

#[cfg(test)]
mod tests {
    use crate::Options;

    /// Rewrites `body`, the one function of a module, and counts its trap
    /// points.
    fn trap_points(body: &str) -> u32 {
        let wat = format!(
            r#"(module (memory 1)
                 (func (export "run") (param $x i32) (param $y i64) (result i32) {body}))"#
        );
        let module = wat::parse_str(wat).unwrap();
        let out = crate::rewrite(&module, &Options::default()).unwrap();
        out.stats.trap_points
    }

    #[test]
    fn a_division_by_a_constant_that_cannot_trap_is_no_trap_point() {
        let cases = [
            ("(i32.div_u (local.get $x) (i32.const 255))", 0),
            ("(i32.rem_s (local.get $x) (i32.const -1))", 0),
            ("(i32.wrap_i64 (i64.div_s (local.get $y) (i64.const 3)))", 0),
            ("(i32.div_u (local.get $x) (i32.const 0))", 1),
            ("(i32.div_s (local.get $x) (i32.const -1))", 1),
            (
                "(i32.wrap_i64 (i64.div_s (local.get $y) (i64.const -1)))",
                1,
            ),
            ("(i32.div_u (i32.const 7) (local.get $x))", 1),
        ];
        for (body, expected) in cases {
            assert_eq!(trap_points(body), expected, "{body}");
        }
    }
}
