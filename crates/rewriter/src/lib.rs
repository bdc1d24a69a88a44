//! Inject core dump generation into a WebAssembly module.
//!
//! [`rewrite`] takes a module and returns one that, when it traps, unwinds
//! every Wasm frame back to the exported entry point, records each frame
//! (function, code offset, the params and locals its DWARF names there: see
//! [`RecordLocals`]) and all globals, and leaves a standard Wasm core dump at
//! the start of linear memory; then the original trap is raised, so the host
//! sees the same trap as before. The host only has to save `memory.buffer`:
//! it parses as a core dump (`u32[0] == 0x6d736100`).
//!
//! A trap sets a flag that a check after each call reads, and each frame
//! returns to its caller once recorded; or, with [`Unwind::Exceptions`], it
//! throws a Wasm exception that a `try` around each call catches.
//!
//! The rewrite is a splice: every byte of the input is copied verbatim except
//! at the instrumented points (calls that can unwind, trap points) and the
//! sections that gain entries (Type, Function, Global, Export, Code). Functions
//! that cannot be on the stack at a trap are not touched at all.
//!
//! [`rewrite_to`] writes the module to a writer as it is made instead, so that
//! it is never held whole in memory (what the command-line tool does).
//!
//! ```
//! let input = wat::parse_str(r#"
//!     (module
//!       (memory (export "memory") 1)
//!       (func $inner (param i32) (result i32) local.get 0 i32.const 0 i32.div_u)
//!       (func (export "run") (result i32) i32.const 7 call $inner))
//! "#)?;
//! let out = rewriter::rewrite(&input, &rewriter::Options::default())?;
//! let features = wasmparser::WasmFeatures::default() | wasmparser::WasmFeatures::LEGACY_EXCEPTIONS;
//! wasmparser::Validator::new_with_features(features).validate_all(&out.module)?;
//! assert_eq!(out.stats.functions_instrumented, 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod address_map;
mod analysis;
mod assemble;
mod code;
mod dwarf;
mod error;
mod indirect;
mod instrument;
mod locals;
mod module;
mod named_locals;
mod runtime;
mod sink;
mod stale;
mod types;
mod validate;

pub use address_map::AddressMap;
pub use error::Error;
pub use runtime::{LOW_BYTES_SECTION, ORIGINAL_OFFSETS_SECTION, PADDING_SECTION, RUNTIME_SECTION};
pub use wasm_layout::BuildId;

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
    /// How a trap unwinds the frames above it.
    pub unwind: Unwind,
    /// Which locals each frame records.
    pub record_locals: RecordLocals,
    /// With [`RecordLocals::All`], record every local in every frame. By
    /// default a local the program
    /// never reads again at a site is recorded as missing there when
    /// keeping it would cost run time around a loop: when its value is left
    /// over from an earlier iteration of a loop around the site (a sieve ran
    /// 1.19x the original with these recorded, 1.02x without), or when a
    /// loop without calls before the site assigned it and the DWARF names
    /// it in no variable there (SHA-256: 1.17x, 1.00x).
    pub keep_stale_locals: bool,
}

/// Which params and locals a frame records where (the others are recorded
/// as missing). Recording a local keeps it alive up to the site (a call, a
/// trap point) where it is recorded, and what V8's optimized code keeps
/// alive that the program no longer needs costs run time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RecordLocals {
    /// At each site, the locals the input's DWARF names there: a variable's
    /// location in scope there, or a frame base. Functions whose DWARF names
    /// no local (none at all, or line tables only, as Rust's std is built)
    /// record their params: the crash reason is read from those of
    /// `core::panicking::panic_fmt` and the like.
    #[default]
    Named,
    /// The params, everywhere.
    Params,
    /// Every param and local, everywhere (but see
    /// [`Options::keep_stale_locals`]).
    All,
}

/// How a trap unwinds the Wasm frames between it and the entry point, each
/// frame recording itself on the way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Unwind {
    /// [`Unwind::Exceptions`], unless the module uses exception handling
    /// itself: then [`Unwind::Checks`].
    Auto,
    /// The trap throws a Wasm exception that a `try` around each call
    /// catches. Uses the exception-handling instructions that V8 (Node,
    /// Chrome, Workers), SpiderMonkey and JavaScriptCore run (`try`/`catch`,
    /// the "legacy" proposal). Cheapest on call-bound code (a recursive
    /// Fibonacci: 1.00x, 1.09x with checks), but V8 takes longer to
    /// optimize large functions with `try`s, and their code is larger (the
    /// first call of SQLite's queries: 1.37x to 1.44x, 1.14x to 1.18x with
    /// checks).
    Exceptions,
    /// The trap sets a flag that a check after each call reads; each frame
    /// returns to its caller, which checks in turn. Runs on every engine
    /// (Wasmtime included) and in modules that catch exceptions themselves;
    /// the default: it runs everywhere, and V8 optimizes real programs
    /// sooner with it.
    #[default]
    Checks,
}

/// What [`rewrite`] did, for the one-line report and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Functions that got a landing pad.
    pub functions_instrumented: u32,
    /// Calls that can unwind, each guarded by a check or a `try`.
    pub call_sites: u32,
    /// Trapping instructions routed through the runtime.
    pub trap_points: u32,
    /// Exports, a start function and functions in tables the host sees,
    /// wrapped to finish the dump.
    pub entry_points: u32,
    /// How traps unwind in the output: never [`Unwind::Auto`].
    pub unwind: Unwind,
    /// Size of the input module in bytes.
    pub input_size: usize,
    /// Size of the output module in bytes.
    pub output_size: usize,
    /// Size of the input's Code section payload.
    pub code_size_before: usize,
    /// Size of the output's Code section payload.
    pub code_size_after: usize,
    /// Address ranges of the input's DWARF (`low_pc`/`high_pc` pairs, list
    /// entries, aranges tuples, line sequences) that start in a function
    /// body but do not end in one, as Binaryen writes some, and so have no
    /// image in the new code: tombstoned in the output, as lld tombstones
    /// dead code.
    pub dwarf_ranges_tombstoned: u32,
}

/// A rewritten module.
#[derive(Debug, Clone)]
pub struct Output {
    /// The module bytes.
    pub module: Vec<u8>,
    /// The build_id stamped into the module and into every dump it writes.
    pub build_id: BuildId,
    /// What was done.
    pub stats: Stats,
    /// Input to output code addresses, for DWARF and for frame offsets.
    pub address_map: AddressMap,
}

/// What [`rewrite_to`] did: an [`Output`] without the module, which went
/// to the writer.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The build_id stamped into the module and into every dump it writes.
    pub build_id: BuildId,
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
    let mut module = Vec::with_capacity(input.len() + input.len() / 4);
    let Summary {
        build_id,
        stats,
        address_map,
    } = rewrite_to(input, options, &mut module)?;
    Ok(Output {
        module,
        build_id,
        stats,
        address_map,
    })
}

/// [`rewrite`], writing the module to `out` as it is made, section by
/// section, rather than returning it: the module is never held whole, so
/// that rewriting takes less memory. `out` receives many small writes (give
/// it a [`BufWriter`](std::io::BufWriter) over a file).
///
/// Fails with [`Error::Write`] when `out` does. On any error, `out` may have
/// received the start of the module (some errors in the input's DWARF are
/// only found once the code is written), to be thrown away.
pub fn rewrite_to(
    input: &[u8],
    options: &Options,
    out: impl std::io::Write,
) -> Result<Summary, Error> {
    assemble::rewrite_to(input, options, out)
}
