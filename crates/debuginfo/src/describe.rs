//! Where a variable is, in words, as gdb's `info scope` says it: `a variable in Wasm local 2`,
//! `a variable at frame base offset 12`, `static storage at address 0x100fa8`.

use gimli::Operation;

use crate::context::DebugInfo;
use crate::error::Result;
use crate::variables::{VarLocation, Variable};

impl DebugInfo {
    /// Where `var` is at its scope's address, in the words of gdb's `info scope`: one DWARF
    /// operation that names a place is described (`DW_OP_WASM_location`, `DW_OP_fbreg`,
    /// `DW_OP_addr`, a constant); anything longer is "a complex DWARF expression", as gdb puts it.
    pub fn describe_location(&self, var: &Variable) -> Result<String> {
        let expr = match &var.location {
            VarLocation::None => return Ok("optimized out".into()),
            VarLocation::Const(_) => return Ok("constant".into()),
            VarLocation::Expr(expr) => expr.clone(),
        };
        let encoding = self.scope_unit(&var.scope)?.encoding();
        let mut ops = expr.operations(encoding);
        let mut all = Vec::new();
        while let Some(op) = ops.next()? {
            all.push(op);
            if all.len() > 2 {
                break;
            }
        }
        Ok(match all.as_slice() {
            [Operation::WasmLocal { index }] => format!("a variable in Wasm local {index}"),
            [Operation::WasmGlobal { index }] => format!("a variable in Wasm global {index}"),
            [Operation::WasmStack { index }] => {
                format!("a variable in Wasm operand stack slot {index}")
            }
            [Operation::FrameOffset { offset }] => {
                format!("a variable at frame base offset {offset}")
            }
            [Operation::Address { address }] => format!("static storage at address {address:#x}"),
            [Operation::WasmLocal { index }, Operation::StackValue] => {
                format!("a variable whose value is Wasm local {index}")
            }
            [] => "optimized out".into(),
            _ => "a variable with complex DWARF expression locating its address in memory".into(),
        })
    }
}
