//! Errors of the rewriter.

/// Why a module cannot be rewritten.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is not a well-formed Wasm module (as wasmparser reports it).
    #[error("malformed module at offset {offset:#x}: {message}")]
    Malformed {
        /// Byte offset of the fault in the input.
        offset: u64,
        /// What is wrong.
        message: String,
    },
    /// The module's layout is malformed (a section, the Code section's bodies, an ambiguous
    /// `build_id`), or it is a component. The message names the section and offset.
    #[error(transparent)]
    Layout(#[from] wasm_layout::Error),
    /// The module uses a feature the rewriter does not handle.
    #[error("unsupported: {feature} (at offset {offset:#x})")]
    Unsupported {
        /// The feature, named as in the Wasm proposals.
        feature: String,
        /// Where in the input it was found.
        offset: u64,
    },
    /// The module has no linear memory to leave the dump in.
    #[error("the module has no linear memory: a core dump needs one to be left in")]
    NoMemory,
    /// The module has no exported function, so no entry point to unwind to.
    #[error("the module exports no function: there is no entry point to unwind to")]
    NoEntryPoint,
    /// The writer given to [`rewrite_to`](crate::rewrite_to) failed.
    #[error("writing the rewritten module: {message}")]
    Write {
        /// The kind of the I/O error.
        kind: std::io::ErrorKind,
        /// The I/O error, as it prints.
        message: String,
    },
}

impl Error {
    /// A failure of the output's writer.
    pub(crate) fn write(err: std::io::Error) -> Self {
        Error::Write {
            kind: err.kind(),
            message: err.to_string(),
        }
    }
}

impl From<wasmparser::BinaryReaderError> for Error {
    fn from(err: wasmparser::BinaryReaderError) -> Self {
        Error::Malformed {
            offset: err.offset(),
            message: err
                .message()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

pub(crate) fn unsupported(feature: impl Into<String>, offset: u64) -> Error {
    Error::Unsupported {
        feature: feature.into(),
        offset,
    }
}
