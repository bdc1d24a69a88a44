//! DWARF for WebAssembly: the debug info of a module, for a debugger (`wasmgdb`) and a crash
//! collector.
//!
//! [`DebugInfo`] is the main type. Build one from a [`Module`] that carries DWARF, from a
//! stripped module and its `debug-<build_id>.wasm` ([`DebugInfo::with_debug_file`],
//! [`DebugInfo::load`]), or with names only. It is built like addr2line's `Context`: costly to
//! create, cheap to query, and lazy (a backtrace parses only the units its frames live in).
//!
//! - [`DebugInfo::frames`] symbolizes a core dump frame (function index, code offset) into
//!   [`Frame`]s, inlined ones first, with demangled names and source locations. Code offsets
//!   become DWARF addresses in one place: [`CodeLayout::dwarf_address`] (of [`wasm_layout`],
//!   the module layout every tool shares, re-exported here). A [`Location`] names
//!   its file both as the DWARF records it (`mything/src/main.rs`, what gdb shows) and by full
//!   path (joined with the compilation directory, to open it); [`DebugInfo::line_range`] gives a
//!   line's code addresses (gdb's `info line`).
//! - [`DebugInfo::variables`] lists the variables in scope at a frame ([`Frame::scope`]);
//!   [`DebugInfo::locate`] evaluates a variable's location (`DW_OP_WASM_location`, frame base,
//!   pieces, location lists) against a [`FrameState`] the caller implements
//!   ([`CoreDumpFrame`] for a core dump), so the crate does no I/O.
//! - [`DebugInfo::find_global_variable`] finds a `static` or C global by qualified or plain name,
//!   with its type and linear-memory address ([`GlobalVariable`]).
//! - [`DebugInfo::type_of`] reads [`Type`]s; [`DebugInfo::format_variable`] and
//!   [`DebugInfo::format_value`] print values as gdb does (`mything::MyThing {value: 3}`,
//!   `core::option::Option<&str>::Some("alice")`, `Vec(size=2) = {1, 2}`, the other std types
//!   as rust-gdb's pretty printers do, pointers as `0x...`); [`DebugInfo::format_summary`] as a
//!   frame line shows an argument (`Vec(size=2) = {...}`).
//!
//! gimli is re-exported ([`gimli`]) so callers use the same version.
//!
//! ```
//! use debuginfo::{DebugInfo, Module, NameSource};
//!
//! // A module without DWARF: names come from its `name` section.
//! let wasm = wat::parse_str(r#"(module (func $crash unreachable))"#)?;
//! let info = DebugInfo::new(Module::parse(wasm)?)?;
//! let frames = info.frames(0, 0)?;
//! assert_eq!(frames[0].function.name, "crash");
//! assert_eq!(frames[0].function.source, NameSource::NameSection);
//! assert_eq!(frames[0].to_string(), "crash");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod build_id;
mod cells;
mod children;
mod collections;
mod context;
mod crash;
mod declarations;
mod demangle;
mod describe;
mod error;
mod eval;
mod format;
mod frame;
mod globals;
mod lines;
mod located;
mod module;
mod names;
mod place;
mod qualify;
mod rust;
mod scalar;
mod state;
mod types;
mod units;
mod variables;
mod vtables;

pub use gimli;
pub use wasm_layout;

pub use build_id::{debug_file_candidates, find_debug_file};
pub use context::{DebugInfo, DwarfSource, Reader};
pub use crash::{Assertion, CrashReason, OutOfMemory, Panic, PanicLocation, PanicMessage};
pub use demangle::demangle;
pub use error::{Error, Result, Unavailable};
pub use format::FormatOptions;
pub use frame::{Frame, FunctionName, Location, NameSource, Scope};
pub use globals::GlobalVariable;
pub use located::SectionOffset;
pub use module::Module;
pub use place::{Piece, Place};
pub use scalar::{format_char, format_float, format_general, format_integer};
pub use state::{CoreDumpFrame, FrameState, WasmValue};
pub use types::{Composite, Enumeration, Member, Type, TypeId, TypeKind, Variant, VariantPart};
pub use variables::{Variable, VariableKind};
pub use wasm_layout::{
    BUILD_ID_SECTION, BuildId, BuildIdEncoding, CodeLayout, CodeLocation,
    EXTERNAL_DEBUG_INFO_SECTION,
};
