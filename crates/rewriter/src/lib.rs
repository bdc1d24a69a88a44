//! Inject core dump generation into a WebAssembly module.
//!
//! [`rewrite`] takes a module and returns one that, when it traps, unwinds
//! every Wasm frame back to the exported entry point, records each frame
//! (function, code offset, every param and local) and all globals, and leaves
//! a standard Wasm core dump at the start of linear memory; then the original
//! trap is raised, so the host sees the same trap as before. The host only has
//! to save `memory.buffer`: it parses as a core dump (`u32[0] == 0x6d736100`).
//!
//! The rewrite is a splice: every byte of the input is copied verbatim except
//! at the instrumented points (calls that can unwind, trap points) and the
//! sections that gain entries (Type, Function, Global, Export, Code). Functions
//! that cannot be on the stack at a trap are not touched at all.
//!
//! ```
//! let input = wat::parse_str(r#"
//!     (module
//!       (memory (export "memory") 1)
//!       (func $inner (param i32) (result i32) local.get 0 i32.const 0 i32.div_u)
//!       (func (export "run") (result i32) i32.const 7 call $inner))
//! "#)?;
//! let out = rewriter::rewrite(&input, &rewriter::Options::default())?;
//! wasmparser::Validator::new().validate_all(&out.module)?;
//! assert_eq!(out.stats.functions_instrumented, 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod address_map;
mod analysis;
mod assemble;
mod dwarf;
mod error;
mod indirect;
mod instrument;
mod module;
mod runtime;
mod types;

pub use address_map::AddressMap;
pub use error::Error;
pub use runtime::{LOW_BYTES_SECTION, ORIGINAL_OFFSETS_SECTION, PADDING_SECTION, RUNTIME_SECTION};

/// How to rewrite.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The module name recorded in the dump (`core` and `coremodules`);
    /// defaults to the `name` section's module name, else `module.wasm`.
    pub module_name: Option<String>,
    /// The instance index recorded in every frame.
    pub instance_id: u32,
    /// Also turn out-of-bounds loads and stores into dumps (a bounds check
    /// before each access of the plain load and store instructions).
    pub check_memory: bool,
    /// Trap with a dump when the Wasm call depth exceeds this, so that stack
    /// exhaustion (a RangeError in V8 that no Wasm code sees) leaves a dump;
    /// the host then sees the same RangeError. Every function counts.
    pub max_call_depth: Option<u32>,
    /// Also turn failing `call_indirect`s (index out of bounds, null slot,
    /// wrong signature where the table's contents are known) into dumps.
    pub check_indirect_calls: bool,
}

/// What [`rewrite`] did, for the one-line report and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Functions that got a landing pad.
    pub functions_instrumented: u32,
    /// Calls followed by an unwinding check.
    pub call_sites: u32,
    /// Trapping instructions routed through the runtime.
    pub trap_points: u32,
    /// Exports (and a start function) wrapped to finish the dump.
    pub entry_points: u32,
    /// Size of the input module in bytes.
    pub input_size: usize,
    /// Size of the output module in bytes.
    pub output_size: usize,
    /// Size of the input's Code section payload.
    pub code_size_before: usize,
    /// Size of the output's Code section payload.
    pub code_size_after: usize,
}

/// A rewritten module.
#[derive(Debug, Clone)]
pub struct Output {
    /// The module bytes.
    pub module: Vec<u8>,
    /// The build_id stamped into the module and into every dump it writes.
    pub build_id: [u8; 16],
    /// What was done.
    pub stats: Stats,
    /// Input to output code addresses, for DWARF and for frame offsets.
    pub address_map: AddressMap,
}

/// Rewrites `input` so that a trap leaves a core dump in linear memory.
///
/// Fails with [`Error`] on a malformed module or a feature the rewriter does
/// not handle; never panics and never emits an invalid module.
pub fn rewrite(input: &[u8], options: &Options) -> Result<Output, Error> {
    assemble::rewrite(input, options)
}
