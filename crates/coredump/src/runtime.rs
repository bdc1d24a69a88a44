//! The `wasm-coredump.runtime` custom section: how `wasm-coredump-rewriter`'s
//! runtime wrote a dump (its version and flags).

/// The custom section in which `wasm-coredump-rewriter`'s runtime records its
/// version (a Wasm name) and its flags (an unsigned LEB128).
pub const RUNTIME_SECTION: &str = "wasm-coredump.runtime";

/// What the rewriter's runtime says about a dump it wrote (its
/// [`RUNTIME_SECTION`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeInfo {
    /// The runtime's version, e.g. `wasm-coredump-rewriter 0.3.0`.
    pub version: String,
    /// The flag bits: [`RuntimeInfo::FRAMES_DROPPED`], [`RuntimeInfo::LOW_REGION`].
    pub flags: u32,
}

impl RuntimeInfo {
    /// Flag bit: there was no room for every frame, the oldest ones are missing.
    pub const FRAMES_DROPPED: u32 = 1;
    /// Flag bit: memory could not grow, so the frames were recorded in the
    /// dead stack below the stack pointer and the dump's own sections were
    /// written there; memory 0 below its first data segment is not in the
    /// dump (see [`crate::CoreDump::unavailable_memory`]).
    pub const LOW_REGION: u32 = 2;

    /// Reads the section's payload; `None` if it is malformed.
    pub(crate) fn parse(data: &[u8]) -> Option<Self> {
        let mut reader = wasmparser::BinaryReader::new(data, 0);
        let version = reader.read_string().ok()?.to_string();
        let flags = reader.read_var_u32().ok()?;
        Some(RuntimeInfo { version, flags })
    }

    /// Whether frames were dropped for lack of room.
    pub fn frames_dropped(&self) -> bool {
        self.flags & Self::FRAMES_DROPPED != 0
    }

    /// Whether the dump was written into the dead stack below the stack
    /// pointer because memory could not grow.
    pub fn low_region(&self) -> bool {
        self.flags & Self::LOW_REGION != 0
    }
}
