//! The errors of this crate.

use std::path::PathBuf;

use crate::located::SectionOffset;

/// Everything that can go wrong while loading debug info or reading a frame.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The module is not a well-formed Wasm module, or a section every tool reads (Code,
    /// `external_debug_info`) is malformed. The message names the section and offset.
    #[error(transparent)]
    Layout(#[from] wasm_layout::Error),
    /// The DWARF is malformed, or uses something gimli cannot read.
    #[error("malformed DWARF: {error}{}", at.map(|at| format!(" (at {at})")).unwrap_or_default())]
    Dwarf {
        /// What gimli found.
        error: gimli::Error,
        /// Where, when gimli says (a read that ran out of input).
        at: Option<SectionOffset>,
    },
    /// The module has no Code section, so code offsets cannot be mapped to DWARF addresses.
    #[error("the module has no Code section (is it a debug file without code?)")]
    NoCodeSection,
    /// Neither the module nor any debug file found for it has DWARF.
    #[error("no DWARF in the module{}", build_id.as_ref().map(|id| format!(" and no debug-{id}.wasm found")).unwrap_or_default())]
    NoDebugInfo {
        /// The module's build id, if it has one.
        build_id: Option<String>,
    },
    /// The debug file's build id differs from the module's.
    #[error("debug file {path} has build id {found}, the module has {expected}")]
    BuildIdMismatch {
        /// The debug file.
        path: PathBuf,
        /// The module's build id.
        expected: String,
        /// The debug file's build id (or "none").
        found: String,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A value the location expression needs was not recorded in the frame (a Wasmtime dump
    /// has no locals; an operand-stack slot may be past the recorded stack).
    #[error("{0} is not available in this frame")]
    Unavailable(Unavailable),
    /// Memory could not be read.
    #[error("cannot read {len} bytes of memory at {address:#x}: {message}")]
    Memory {
        /// The address of the first byte.
        address: u64,
        /// The number of bytes.
        len: u64,
        /// Why.
        message: String,
    },
    /// An index past a Rust sequence's length (`v[7]` of a `Vec` of 5).
    #[error("index {index} is out of bounds: the len is {len}")]
    IndexOutOfBounds {
        /// The index.
        index: i128,
        /// The sequence's length.
        len: u64,
    },
    /// The compiler kept no location for the value at this code address.
    #[error("optimized out")]
    OptimizedOut,
    /// A DWARF expression uses an operation this crate does not evaluate.
    #[error("unsupported DWARF expression: {0}")]
    UnsupportedExpression(String),
    /// The handle passed in does not belong to this debug info (a scope or type from another
    /// [`DebugInfo`](crate::DebugInfo)), or its DIE is not what it should be.
    #[error("invalid DWARF reference: {0}")]
    InvalidReference(String),
}

impl From<gimli::Error> for Error {
    fn from(error: gimli::Error) -> Self {
        // Now, while the bytes the error points into are still loaded.
        let at = crate::located::locate(&error);
        Error::Dwarf { error, at }
    }
}

/// Which part of a frame's state was missing: see [`Error::Unavailable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Unavailable {
    /// Wasm local `N`.
    Local(u32),
    /// Wasm global `N`.
    Global(u32),
    /// Operand-stack slot `N` (0 = bottom).
    Stack(u32),
    /// The function's frame base.
    FrameBase,
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unavailable::Local(i) => write!(f, "local {i}"),
            Unavailable::Global(i) => write!(f, "global {i}"),
            Unavailable::Stack(i) => write!(f, "operand stack slot {i}"),
            Unavailable::FrameBase => f.write_str("the frame base"),
        }
    }
}

/// This crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
