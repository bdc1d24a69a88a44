//! Errors of the rewriter.

use wasm_layout::ModuleLayout;

/// Why a module cannot be rewritten.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is not a well-formed Wasm module (as wasmparser reports it).
    #[error(
        "malformed module{}: {message}",
        offset.map(|o| format!(" at offset {o:#x}")).unwrap_or_default()
    )]
    Malformed {
        /// Byte offset of the fault in the input; `None` where nothing in the input locates it
        /// (a DWARF section that is referred to but missing).
        offset: Option<u64>,
        /// What is wrong.
        message: String,
    },
    /// The module's layout is malformed (a section, the Code section's bodies, an ambiguous
    /// `build_id`), or it is a component. The message names the section and offset.
    #[error(transparent)]
    Layout(#[from] wasm_layout::Error),
    /// The module uses a feature the rewriter does not handle.
    #[error("unsupported: {feature}{}", At(*offset, section.as_deref()))]
    Unsupported {
        /// The feature, named as in the Wasm proposals.
        feature: String,
        /// Where in the input it was found: the instruction, or the declaration of what is
        /// not supported (a memory, a global, a tag); `None` where nothing in the input
        /// locates it.
        offset: Option<u64>,
        /// The section `offset` is in, as messages name it (`memory section`).
        section: Option<String>,
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

    /// The error, located at `offset` if it is an [`Error::Unsupported`] that was not located
    /// yet: what the caller was reading when a lookup it made refused.
    pub(crate) fn located(self, offset: impl Into<Option<u64>>) -> Self {
        match self {
            Error::Unsupported {
                feature,
                offset: None,
                section,
            } => Error::Unsupported {
                feature,
                offset: offset.into(),
                section,
            },
            err => err,
        }
    }

    /// The error with the section of `module` (the input) its offset is in named, if it is an
    /// [`Error::Unsupported`] that has an offset.
    pub(crate) fn in_section_of(self, module: &[u8]) -> Self {
        match self {
            Error::Unsupported {
                feature,
                offset: Some(offset),
                section: None,
            } => {
                let layout = ModuleLayout::parse(module).ok();
                let section = layout.as_ref().and_then(|layout| {
                    let section = layout.section_at(usize::try_from(offset).ok()?)?;
                    Some(layout.section_ref(section).what().to_string())
                });
                Error::Unsupported {
                    feature,
                    offset: Some(offset),
                    section,
                }
            }
            err => err,
        }
    }
}

impl From<wasmparser::BinaryReaderError> for Error {
    fn from(err: wasmparser::BinaryReaderError) -> Self {
        Error::Malformed {
            offset: Some(err.offset()),
            message: err
                .message()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

/// A feature the rewriter does not handle, found at `offset` (`None` where nothing in the
/// input locates it).
pub(crate) fn unsupported(feature: impl Into<String>, offset: impl Into<Option<u64>>) -> Error {
    Error::Unsupported {
        feature: feature.into(),
        offset: offset.into(),
        section: None,
    }
}

/// ` (at SECTION offset 0x..)`, ` (at offset 0x..)`, or nothing without an offset.
struct At<'a>(Option<u64>, Option<&'a str>);

impl std::fmt::Display for At<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            At(Some(offset), Some(section)) => write!(f, " (at {section} offset {offset:#x})"),
            At(Some(offset), None) => write!(f, " (at offset {offset:#x})"),
            At(None, _) => Ok(()),
        }
    }
}
