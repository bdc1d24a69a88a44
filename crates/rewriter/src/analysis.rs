//! Which functions can be on the stack when a trap unwinds: those with a trap
//! point, an indirect call, or a call to such a function. Only they are
//! instrumented; every other function is copied byte for byte.

use wasmparser::{BinaryReader, FunctionBody, Operator};

use crate::error::Error;
use crate::module::ModuleInfo;

/// Whether an operator traps in a way the runtime records (the defaults:
/// `unreachable`, integer division and remainder, trapping float-to-int).
pub(crate) fn is_trap_point(op: &Operator<'_>) -> bool {
    use Operator::*;
    matches!(
        op,
        Unreachable
            | I32DivS
            | I32DivU
            | I32RemS
            | I32RemU
            | I64DivS
            | I64DivU
            | I64RemS
            | I64RemU
            | I32TruncF32S
            | I32TruncF32U
            | I32TruncF64S
            | I32TruncF64U
            | I64TruncF32S
            | I64TruncF32U
            | I64TruncF64S
            | I64TruncF64U
    )
}

/// `may_unwind[i]` for every defined function `i` (index without imports).
pub(crate) fn may_unwind(info: &ModuleInfo<'_>) -> Result<Vec<bool>, Error> {
    let imported = info.imported_funcs;
    let n = info.bodies.len();
    let mut unwinds = vec![false; n];
    // callers[callee] = functions calling it directly.
    let mut callers: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (i, body) in info.bodies.iter().enumerate() {
        let reader = BinaryReader::new(&info.bytes[body.range.clone()], body.range.start as u64);
        let body = FunctionBody::new(reader);
        let mut ops = body.get_operators_reader()?;
        while !ops.eof() {
            let op = ops.read()?;
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
                ref op if is_trap_point(op) => unwinds[i] = true,
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
    Ok(unwinds)
}
