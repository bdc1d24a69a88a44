//! The WebAssembly core dump format ([tool-conventions Coredump.md]).
//!
//! A core dump is a Wasm binary that is never instantiated: custom sections
//! `core`, `coremodules`, `coreinstances` and one `corestack` per thread
//! describe the process, and the Memory, Global and Data sections hold the
//! memories and globals at the time of the trap.
//!
//! [`CoreDump`] is the main type. [`CoreDump::parse`] reads a file with
//! wasmparser's readers, borrowing the memory bytes from the input, so a
//! multi-GiB image is never copied; [`CoreDump::encode`] writes one with
//! wasm-encoder. Dumps written by Wasmtime (no locals, memory in many
//! segments with zero runs trimmed) read as well as full ones.
//!
//! ```
//! use coredump::{CoreDump, Frame, Thread, Value};
//!
//! let mut dump = CoreDump::new("app.wasm");
//! dump.add_thread(Thread {
//!     name: "main".into(),
//!     frames: vec![Frame {
//!         instance: 0,
//!         func: 7,
//!         code_offset: 0x2a,
//!         locals: vec![Value::I32(3)],
//!         stack: vec![],
//!     }],
//! });
//! let bytes = dump.encode();
//! let parsed = CoreDump::parse(&bytes)?;
//! assert_eq!(parsed.threads()[0].frames[0].locals, [Value::I32(3)]);
//! assert_eq!(parsed, dump);
//! # Ok::<(), coredump::Error>(())
//! ```
//!
//! [tool-conventions Coredump.md]: https://github.com/WebAssembly/tool-conventions/blob/main/Coredump.md
#![deny(missing_docs)]

mod encode;
mod error;
mod legacy;
mod memory;
mod model;
mod parse;
mod runtime;
mod trap;

use std::borrow::Cow;
use std::ops::Range;

pub use error::{Error, Section};
pub use parse::LOW_BYTES_SECTION;
pub use runtime::{RUNTIME_SECTION, RuntimeInfo};
pub use trap::{TRAP_SECTION, Trap, TrapKind, TrapLocation};

/// The custom section in which `wasm-coredump-rewriter`'s runtime records
/// each frame's pre-rewrite code offset.
pub const ORIGINAL_OFFSETS_SECTION: &str = "wasm-coredump.original-offsets";
pub use model::{
    CustomSection, Frame, Global, GlobalValue, HeapKind, Instance, Memory, MemoryType, Segment,
    Thread, Value,
};

/// A Wasm core dump: the process name, the modules and their instances, the
/// threads with their frames, and the memories and globals.
///
/// Cheap to build from a file ([`CoreDump::parse`] copies no memory bytes);
/// memory reads ([`CoreDump::read`]) binary-search the memory's segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreDump<'a> {
    process_name: String,
    modules: Vec<String>,
    instances: Vec<Instance>,
    threads: Vec<Thread>,
    memories: Vec<Memory<'a>>,
    globals: Vec<Global>,
    custom_sections: Vec<CustomSection<'a>>,
    legacy_format: bool,
}

impl<'a> CoreDump<'a> {
    /// An empty dump of the process `process_name` (a file path, URL or name
    /// of the program that was running).
    pub fn new(process_name: impl Into<String>) -> Self {
        CoreDump {
            process_name: process_name.into(),
            modules: Vec::new(),
            instances: Vec::new(),
            threads: Vec::new(),
            memories: Vec::new(),
            globals: Vec::new(),
            custom_sections: Vec::new(),
            legacy_format: false,
        }
    }

    /// Reads a core dump file. Memory contents are borrowed from `bytes`.
    ///
    /// Fails with an [`Error`] naming the section and byte offset when the
    /// input is not a well-formed core dump; never panics.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        parse::parse(bytes)
    }

    /// Writes the dump as a core dump file (a Wasm binary).
    pub fn encode(&self) -> Vec<u8> {
        encode::encode(self)
    }

    /// Copies the borrowed parts so the dump no longer borrows its input.
    pub fn into_owned(self) -> CoreDump<'static> {
        let owned = |data: Cow<'_, [u8]>| Cow::Owned(data.into_owned());
        CoreDump {
            process_name: self.process_name,
            modules: self.modules,
            instances: self.instances,
            threads: self.threads,
            memories: self
                .memories
                .into_iter()
                .map(|m| Memory {
                    ty: m.ty,
                    segments: m
                        .segments
                        .into_iter()
                        .map(|s| Segment {
                            address: s.address,
                            data: owned(s.data),
                        })
                        .collect(),
                })
                .collect(),
            globals: self.globals,
            custom_sections: self
                .custom_sections
                .into_iter()
                .map(|c| CustomSection {
                    name: Cow::Owned(c.name.into_owned()),
                    data: owned(c.data),
                })
                .collect(),
            legacy_format: self.legacy_format,
        }
    }

    /// Whether the dump was written by the older wasm-coredump-rewriter
    /// (0.2), whose frames encode values as fixed-width integers. Its caller
    /// frames hold placeholder values instead of real params, and its code
    /// offsets refer to that tool's own rewritten module. Encoding such a
    /// dump writes the standard format.
    pub fn legacy_format(&self) -> bool {
        self.legacy_format
    }

    /// The name of the process that trapped (the `core` section).
    pub fn process_name(&self) -> &str {
        &self.process_name
    }

    /// The names of the modules that were instantiated (`coremodules`).
    pub fn modules(&self) -> &[String] {
        &self.modules
    }

    /// The instances (`coreinstances`).
    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }

    /// The threads (one `corestack` section each), each youngest frame first.
    pub fn threads(&self) -> &[Thread] {
        &self.threads
    }

    /// The memories, in the dump's memory index space.
    pub fn memories(&self) -> &[Memory<'a>] {
        &self.memories
    }

    /// The globals, in the dump's global index space.
    pub fn globals(&self) -> &[Global] {
        &self.globals
    }

    /// Custom sections other than the core dump ones, in file order.
    pub fn custom_sections(&self) -> &[CustomSection<'a>] {
        &self.custom_sections
    }

    /// The payload of the first custom section called `name`, if any.
    pub fn custom_section(&self, name: &str) -> Option<&[u8]> {
        self.custom_sections
            .iter()
            .find(|c| c.name == name)
            .map(|c| &*c.data)
    }

    /// The code offsets of the first thread's frames in the module as it was
    /// before `wasm-coredump-rewriter` instrumented it, youngest first, when
    /// the rewriter's runtime wrote this dump (its
    /// `wasm-coredump.original-offsets` section); `None` otherwise or if that
    /// section is malformed or does not match the frames.
    pub fn original_code_offsets(&self) -> Option<Vec<u32>> {
        let data = self.custom_section(ORIGINAL_OFFSETS_SECTION)?;
        let mut reader = wasmparser::BinaryReader::new(data, 0);
        let count = reader.read_var_u32().ok()?;
        let offsets = (0..count)
            .map(|_| reader.read_var_u32().ok())
            .collect::<Option<Vec<u32>>>()?;
        let frames = self.threads.first().map_or(0, |t| t.frames.len());
        (reader.eof() && offsets.len() == frames).then_some(offsets)
    }

    /// How `wasm-coredump-rewriter`'s runtime wrote this dump (its
    /// [`RUNTIME_SECTION`]); `None` for other dumps or if that section is
    /// malformed.
    pub fn runtime_info(&self) -> Option<RuntimeInfo> {
        RuntimeInfo::parse(self.custom_section(RUNTIME_SECTION)?)
    }

    /// The trap that ended the program, as `wasm-coredump-rewriter`'s runtime recorded it (its
    /// [`TRAP_SECTION`]); `None` for other dumps (Wasmtime's record no trap kind) or if that
    /// section is malformed.
    pub fn trap(&self) -> Option<Trap> {
        Trap::parse(self.custom_section(TRAP_SECTION)?)
    }

    /// The addresses of memory 0 whose contents the dump does not hold: when
    /// memory could not grow at the trap, the rewriter's runtime wrote the
    /// dump's own sections over the dead stack below the stack pointer, and
    /// the memory the dump holds starts at its first data segment.
    /// [`CoreDump::read`] fails there with [`Error::Unavailable`].
    pub fn unavailable_memory(&self) -> Option<Range<u64>> {
        if !self.runtime_info()?.low_region() {
            return None;
        }
        let memory = self.memories.first()?;
        let end = memory
            .segments
            .first()
            .map_or(memory.ty.size(), |s| s.address);
        Some(0..end)
    }

    /// Adds a module name; returns its index.
    pub fn add_module(&mut self, name: impl Into<String>) -> u32 {
        self.modules.push(name.into());
        self.modules.len() as u32 - 1
    }

    /// Adds an instance; returns its index.
    pub fn add_instance(&mut self, instance: Instance) -> u32 {
        self.instances.push(instance);
        self.instances.len() as u32 - 1
    }

    /// Adds a thread.
    pub fn add_thread(&mut self, thread: Thread) {
        self.threads.push(thread);
    }

    /// Adds a memory; returns its index. Its segments must be sorted by
    /// address, must not overlap and must lie within the memory's size, as
    /// they are in a parsed dump; otherwise the dump will not parse back.
    pub fn add_memory(&mut self, memory: Memory<'a>) -> u32 {
        self.memories.push(memory);
        self.memories.len() as u32 - 1
    }

    /// Adds a global; returns its index.
    pub fn add_global(&mut self, global: Global) -> u32 {
        self.globals.push(global);
        self.globals.len() as u32 - 1
    }

    /// Adds a custom section, written after the core dump sections.
    pub fn add_custom_section(&mut self, section: CustomSection<'a>) {
        self.custom_sections.push(section);
    }

    /// Reads `len` bytes at `address` of memory `memory`.
    ///
    /// Bytes that no data segment covers read as zero (Wasmtime trims zero
    /// runs). Borrows from the dump when one segment holds the whole range.
    /// Fails with [`Error::OutOfBounds`] past the end of the memory,
    /// [`Error::NoSuchMemory`] for an unknown index and
    /// [`Error::Unavailable`] where the dump does not hold the memory (see
    /// [`CoreDump::unavailable_memory`]).
    pub fn read(&self, memory: u32, address: u64, len: u64) -> Result<Cow<'_, [u8]>, Error> {
        let m = self
            .memories
            .get(memory as usize)
            .ok_or(Error::NoSuchMemory(memory))?;
        if memory == 0
            && len > 0
            && let Some(missing) = self.unavailable_memory()
            && address < missing.end
        {
            return Err(Error::Unavailable {
                memory,
                address,
                len,
                end: missing.end,
            });
        }
        memory::read(m, memory, address, len)
    }
}
