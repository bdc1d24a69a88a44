//! [`FrameState`]: what a location expression reads (a frame's locals and operand stack, the
//! globals, linear memory), implemented by the caller so this crate does no I/O.

use std::borrow::Cow;

use coredump::{CoreDump, GlobalValue};

use crate::error::{Error, Result};

/// A Wasm value as a frame holds it. Floats are raw IEEE 754 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WasmValue {
    /// An `i32`.
    I32(i32),
    /// An `i64`.
    I64(i64),
    /// An `f32`, as bits.
    F32(u32),
    /// An `f64`, as bits.
    F64(u64),
}

impl WasmValue {
    /// The value's bits, zero-extended (an `i32` address stays positive).
    pub fn bits(self) -> u64 {
        match self {
            WasmValue::I32(v) => u64::from(v as u32),
            WasmValue::I64(v) => v as u64,
            WasmValue::F32(b) => u64::from(b),
            WasmValue::F64(b) => b,
        }
    }
}

/// The state of one frame of a stopped (or dead) Wasm program: what DWARF location
/// expressions read. The caller implements it over whatever holds the state; this crate only
/// calls it. [`CoreDumpFrame`] implements it over a core dump.
pub trait FrameState {
    /// Wasm local `index` of the frame (params first), or `None` if it was not recorded.
    fn local(&self, index: u32) -> Option<WasmValue>;
    /// Global `index` of the frame's instance, or `None` if it was not recorded.
    fn global(&self, index: u32) -> Option<WasmValue>;
    /// Slot `index` of the frame's operand stack (0 = bottom), or `None` if not recorded.
    fn stack(&self, index: u32) -> Option<WasmValue>;
    /// `len` bytes of linear memory at `address`. Fails with [`Error::Memory`] when they cannot
    /// be read.
    fn read_memory(&self, address: u64, len: u64) -> Result<Cow<'_, [u8]>>;
}

/// A [`FrameState`] over one frame of a [`CoreDump`]: the frame's locals and stack, its
/// instance's globals and first memory.
#[derive(Debug, Clone, Copy)]
pub struct CoreDumpFrame<'d, 'a> {
    dump: &'d CoreDump<'a>,
    frame: &'d coredump::Frame,
}

impl<'d, 'a> CoreDumpFrame<'d, 'a> {
    /// The state of `frame`, one of `dump`'s frames.
    pub fn new(dump: &'d CoreDump<'a>, frame: &'d coredump::Frame) -> Self {
        CoreDumpFrame { dump, frame }
    }

    fn instance(&self) -> Option<&'d coredump::Instance> {
        self.dump.instances().get(self.frame.instance as usize)
    }
}

fn from_dump(value: &coredump::Value) -> Option<WasmValue> {
    match *value {
        coredump::Value::Missing => None,
        coredump::Value::I32(v) => Some(WasmValue::I32(v)),
        coredump::Value::I64(v) => Some(WasmValue::I64(v)),
        coredump::Value::F32(b) => Some(WasmValue::F32(b)),
        coredump::Value::F64(b) => Some(WasmValue::F64(b)),
    }
}

impl FrameState for CoreDumpFrame<'_, '_> {
    fn local(&self, index: u32) -> Option<WasmValue> {
        self.frame.locals.get(index as usize).and_then(from_dump)
    }

    fn global(&self, index: u32) -> Option<WasmValue> {
        // Without instances (a minimal dump) the dump's globals are the instance's.
        let global = match self.instance() {
            Some(instance) => *instance.globals.get(index as usize)?,
            None => index,
        };
        match self.dump.globals().get(global as usize)?.value {
            GlobalValue::I32(v) => Some(WasmValue::I32(v)),
            GlobalValue::I64(v) => Some(WasmValue::I64(v)),
            GlobalValue::F32(b) => Some(WasmValue::F32(b)),
            GlobalValue::F64(b) => Some(WasmValue::F64(b)),
            _ => None,
        }
    }

    fn stack(&self, index: u32) -> Option<WasmValue> {
        self.frame.stack.get(index as usize).and_then(from_dump)
    }

    fn read_memory(&self, address: u64, len: u64) -> Result<Cow<'_, [u8]>> {
        let memory = match self.instance() {
            Some(instance) => *instance.memories.first().ok_or_else(|| Error::Memory {
                address,
                len,
                message: "the instance has no memory".into(),
            })?,
            None => 0,
        };
        self.dump
            .read(memory, address, len)
            .map_err(|e| Error::Memory {
                address,
                len,
                message: e.to_string(),
            })
    }
}
