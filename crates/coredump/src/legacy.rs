//! Dumps written by the older wasm-coredump-rewriter (0.2): their `corestack`
//! frames put a zero byte between the locals count and the locals, and
//! encode each value as fixed-width little-endian bytes instead of LEB128.
//! Such a section does not parse as the standard format, which is how the
//! two are told apart; frames without locals are the same in both.
//! Their Memory section also declares 0 pages and the size as the maximum.

use wasmparser::BinaryReader;

use crate::model::{Frame, Thread, Value};

/// Reads a `corestack` payload in the older format, or `None` if it is not
/// one either.
pub(crate) fn read_thread(payload: &[u8]) -> Option<Thread> {
    let mut r = BinaryReader::new(payload, 0);
    (r.read_u8().ok()? == 0).then_some(())?;
    let name = r.read_string().ok()?.to_string();
    let count = r.read_var_u32().ok()?;
    let mut frames = Vec::new();
    for _ in 0..count {
        (r.read_u8().ok()? == 0).then_some(())?;
        let instance = r.read_var_u32().ok()?;
        let func = r.read_var_u32().ok()?;
        let code_offset = r.read_var_u32().ok()?;
        let nlocals = r.read_var_u32().ok()?;
        (r.read_u8().ok()? == 0).then_some(())?;
        let mut locals = Vec::new();
        for _ in 0..nlocals {
            locals.push(match r.read_u8().ok()? {
                0x01 => Value::Missing,
                0x7f => Value::I32(i32::from_le_bytes(r.read_bytes(4).ok()?.try_into().ok()?)),
                0x7e => Value::I64(i64::from_le_bytes(r.read_bytes(8).ok()?.try_into().ok()?)),
                0x7d => Value::F32(u32::from_le_bytes(r.read_bytes(4).ok()?.try_into().ok()?)),
                0x7c => Value::F64(u64::from_le_bytes(r.read_bytes(8).ok()?.try_into().ok()?)),
                _ => return None,
            });
        }
        frames.push(Frame {
            instance,
            func,
            code_offset,
            locals,
            stack: Vec::new(),
        });
    }
    r.eof().then_some(Thread { name, frames })
}
