//! Errors of reading, querying and writing core dumps.

use std::fmt;

/// Everything that can go wrong reading or querying a core dump.
///
/// Each variant says what is wrong and, where the input is at fault, where:
/// the section and the byte offset in the dump file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a well-formed Wasm binary, or a section's payload is
    /// malformed (as reported by wasmparser).
    #[error("malformed {section} at offset {offset:#x}: {message}")]
    Malformed {
        /// The section being read, e.g. "`corestack` section" or "Data section".
        section: Section,
        /// Byte offset of the fault in the dump file.
        offset: u64,
        /// What is wrong, in wasmparser's words or ours.
        message: String,
    },
    /// The input does not start with the Wasm magic bytes `\0asm`.
    #[error("not a Wasm core dump: the file starts with {}, not the Wasm magic `00 61 73 6d`", hex(.0))]
    NotWasm([u8; 4]),
    /// The binary is valid Wasm but is not a core dump: it has no `core`
    /// custom section.
    #[error("not a Wasm core dump: no `core` custom section")]
    NotACoreDump,
    /// The binary is a Wasm component, not a core module.
    #[error("not a Wasm core dump: the binary is a component, not a core module")]
    Component,
    /// A section that has no place in a core dump (e.g. Code).
    #[error("unexpected {section} at offset {offset:#x}: core dumps hold no such section")]
    UnexpectedSection {
        /// The section found.
        section: Section,
        /// Byte offset of the section in the dump file.
        offset: u64,
    },
    /// A construct that is valid Wasm but that this library cannot represent
    /// (e.g. a passive data segment, a global initialized by `global.get`).
    #[error("unsupported {what} in {section} at offset {offset:#x}")]
    Unsupported {
        /// What was found.
        what: String,
        /// The section holding it.
        section: Section,
        /// Byte offset in the dump file.
        offset: u64,
    },
    /// An index that points past the end of the list it refers to.
    #[error(
        "{what} index {index} out of range ({count} defined) in {section} at offset {offset:#x}"
    )]
    IndexOutOfRange {
        /// What kind of index, e.g. "memory", "module".
        what: &'static str,
        /// The index found.
        index: u32,
        /// How many items of that kind the dump defines.
        count: usize,
        /// The section holding the index.
        section: Section,
        /// Byte offset of the section in the dump file.
        offset: u64,
    },
    /// A data segment that lies outside its memory or overlaps another one.
    #[error(
        "data segment at address {address:#x} ({len} bytes) of memory {memory} {problem} (Data section at offset {offset:#x})"
    )]
    BadSegment {
        /// Memory index.
        memory: u32,
        /// Start address of the segment in the memory.
        address: u64,
        /// Length of the segment in bytes.
        len: usize,
        /// "exceeds the memory size of N bytes" or "overlaps the previous segment".
        problem: String,
        /// Byte offset of the segment in the dump file.
        offset: u64,
    },
    /// A memory index that the dump does not define.
    #[error("no memory {0} in the core dump")]
    NoSuchMemory(u32),
    /// A read past the end of a memory.
    #[error(
        "cannot access memory at address {address:#x}: {len} bytes read past the end of memory {memory} ({size} bytes)"
    )]
    OutOfBounds {
        /// Memory index.
        memory: u32,
        /// First address read.
        address: u64,
        /// Number of bytes asked for.
        len: u64,
        /// Size of the memory in bytes.
        size: u64,
    },
    /// A read of memory the dump does not hold: the rewriter's runtime wrote
    /// the dump over the dead stack below `end` because memory could not
    /// grow (see `CoreDump::unavailable_memory`).
    #[error(
        "cannot access memory at address {address:#x}: memory {memory} below {end:#x} is not in the core dump (memory was full at the trap; the dump was written over the dead stack there)"
    )]
    Unavailable {
        /// Memory index.
        memory: u32,
        /// First address read.
        address: u64,
        /// Number of bytes asked for.
        len: u64,
        /// The first address the dump holds again.
        end: u64,
    },
}

/// A section of a core dump file, named the way error messages show it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Section {
    /// The module header (magic and version).
    Header,
    /// A standard section, by its name in the spec ("Memory", "Data", ...).
    Standard(&'static str),
    /// A custom section, by its name.
    Custom(String),
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Section::Header => f.write_str("module header"),
            Section::Standard(name) => write!(f, "{name} section"),
            Section::Custom(name) => write!(f, "`{name}` custom section"),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl Error {
    /// Wraps a wasmparser error met while reading `section`.
    pub(crate) fn malformed(section: Section, err: wasmparser::BinaryReaderError) -> Error {
        Error::Malformed {
            section,
            offset: err.offset(),
            // Some wasmparser messages span lines; errors here are one line.
            message: err
                .message()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}
