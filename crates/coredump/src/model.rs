//! The parts of a core dump: threads and their frames, instances, memories
//! and globals.

use std::borrow::Cow;

/// A value of a local or of the operand stack in a frame.
///
/// Floats are kept as their raw IEEE 754 bits so that every value, NaN
/// payloads included, survives a round trip unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Value {
    /// The value was not recorded (optimized out, or a type the writer could
    /// not record such as `v128` or a reference).
    Missing,
    /// An `i32`.
    I32(i32),
    /// An `i64`.
    I64(i64),
    /// An `f32`, as raw bits (see [`f32::from_bits`]).
    F32(u32),
    /// An `f64`, as raw bits (see [`f64::from_bits`]).
    F64(u64),
}

/// One stack frame of a thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Index of the instance the function belongs to, in [`CoreDump::instances`](crate::CoreDump::instances).
    pub instance: u32,
    /// Index of the function in its module's function index space (imports
    /// included).
    pub func: u32,
    /// Offset of the current instruction relative to the start of the
    /// function body (the byte after the body-size LEB). For the youngest
    /// frame it is the trapping instruction, for callers the call.
    pub code_offset: u32,
    /// The function's params and locals, in index order. Empty when the
    /// writer did not record them (Wasmtime).
    pub locals: Vec<Value>,
    /// The operand stack, bottom first.
    pub stack: Vec<Value>,
}

/// A thread: its name and its stack, youngest frame first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    /// The thread's name (Wasmtime writes "main").
    pub name: String,
    /// The frames, youngest (the one that trapped) first.
    pub frames: Vec<Frame>,
}

/// An instance of a module: which memories and globals of the dump it uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// Index of the module in [`CoreDump::modules`](crate::CoreDump::modules).
    pub module: u32,
    /// The instance's memory index space, mapped to indices of
    /// [`CoreDump::memories`](crate::CoreDump::memories).
    pub memories: Vec<u32>,
    /// The instance's global index space, mapped to indices of
    /// [`CoreDump::globals`](crate::CoreDump::globals).
    pub globals: Vec<u32>,
}

/// The type of a linear memory, as declared in the dump's Memory section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryType {
    /// Size of the memory in pages at the time of the dump.
    pub pages: u64,
    /// The maximum size in pages, if any.
    pub maximum: Option<u64>,
    /// Whether the memory uses 64-bit addresses.
    pub memory64: bool,
    /// Whether the memory is shared between threads.
    pub shared: bool,
    /// log2 of the page size when it is not the default 64 KiB.
    pub page_size_log2: Option<u32>,
}

impl MemoryType {
    /// A 32-bit, unshared memory of `pages` 64 KiB pages with no maximum: what most modules
    /// declare.
    pub fn new(pages: u64) -> Self {
        MemoryType {
            pages,
            maximum: None,
            memory64: false,
            shared: false,
            page_size_log2: None,
        }
    }

    /// The size of the memory in bytes.
    pub fn size(&self) -> u64 {
        let page_size = 1u64 << self.page_size_log2.unwrap_or(16);
        self.pages.saturating_mul(page_size)
    }
}

/// A run of bytes of a memory, starting at `address`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment<'a> {
    /// Address of the first byte in the memory.
    pub address: u64,
    /// The bytes, borrowed from the dump file when it was parsed.
    pub data: Cow<'a, [u8]>,
}

impl Segment<'_> {
    /// One past the address of the segment's last byte.
    pub fn end(&self) -> u64 {
        self.address + self.data.len() as u64
    }
}

/// A linear memory: its type and its contents as sorted, non-overlapping
/// segments. Bytes no segment covers are zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Memory<'a> {
    /// The memory's type, including its size at the time of the dump.
    pub ty: MemoryType,
    /// The contents, sorted by address, not overlapping.
    pub segments: Vec<Segment<'a>>,
}

/// The abstract heap type of a null reference held by a global.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeapKind {
    /// `funcref`
    Func,
    /// `externref`
    Extern,
    /// `anyref`
    Any,
}

/// The value of a global at the time of the dump. Its variant is its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GlobalValue {
    /// An `i32`.
    I32(i32),
    /// An `i64`.
    I64(i64),
    /// An `f32`, as raw bits.
    F32(u32),
    /// An `f64`, as raw bits.
    F64(u64),
    /// A `v128`.
    V128(u128),
    /// A null reference (dump writers record every reference as null).
    RefNull(HeapKind),
    /// A reference to function `N` (`ref.func N`).
    RefFunc(u32),
}

/// A global: whether it is mutable and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Global {
    /// Whether the global was declared mutable.
    pub mutable: bool,
    /// Its value at the time of the dump.
    pub value: GlobalValue,
}

/// A custom section that is not one of the core dump sections, kept so a
/// parse followed by an encode loses nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomSection<'a> {
    /// The section's name.
    pub name: Cow<'a, str>,
    /// The section's payload.
    pub data: Cow<'a, [u8]>,
}
