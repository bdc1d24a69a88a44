//! Errors: loading a module and a dump ([`Error`]), and a command that fails
//! ([`CommandError`], printed as gdb prints its errors).

use std::fmt;
use std::path::PathBuf;

/// Why a session could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The core dump is malformed or is not a core dump.
    #[error("cannot read the core dump")]
    Dump(#[source] coredump::Error),
    /// The module (or its debug file) could not be read or is not a Wasm module.
    #[error("cannot load {}", path.display())]
    Module {
        /// The module.
        path: PathBuf,
        /// The cause.
        #[source]
        source: debuginfo::Error,
    },
    /// A file does not exist.
    #[error("{}: no such file", .0.display())]
    Missing(PathBuf),
    /// The module has no Code section (a debug file alone, or not a module of code).
    #[error("{} has no Code section: give the module that ran (or its debug file)", .0.display())]
    NoCode(PathBuf),
    /// The dump has no thread.
    #[error("the core dump has no thread (no `corestack` section)")]
    NoThreads,
}

/// A command that failed, with gdb's message (`No frame at level 9.`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError(pub String);

impl CommandError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        CommandError(message.into())
    }
}

/// What the user typed, as a message quotes it: control characters escaped, and past
/// [`EXCERPT`] characters cut with `...` (a one-megabyte name makes no one-line error).
pub fn excerpt(typed: &str) -> String {
    let mut out = String::new();
    for (i, c) in typed.chars().enumerate() {
        if i == EXCERPT {
            out.push_str("...");
            break;
        }
        out.extend(c.escape_debug());
    }
    out
}

/// How many characters of user input a message quotes.
const EXCERPT: usize = 64;

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CommandError {}

impl From<debuginfo::Error> for CommandError {
    fn from(e: debuginfo::Error) -> Self {
        match e {
            debuginfo::Error::Memory { address, .. } => {
                CommandError(format!("Cannot access memory at address {address:#x}"))
            }
            debuginfo::Error::OptimizedOut => CommandError("value has been optimized out".into()),
            debuginfo::Error::Unavailable(what) => CommandError(format!(
                "value is not available: {what} was not recorded in the dump"
            )),
            e => CommandError(e.to_string()),
        }
    }
}

impl From<debuginfo::wasm_layout::Error> for CommandError {
    fn from(e: debuginfo::wasm_layout::Error) -> Self {
        CommandError(e.to_string())
    }
}

impl From<coredump::Error> for CommandError {
    fn from(e: coredump::Error) -> Self {
        match e {
            coredump::Error::OutOfBounds { address, .. } => {
                CommandError(format!("Cannot access memory at address {address:#x}"))
            }
            coredump::Error::Unavailable { address, end, .. } => CommandError(format!(
                "Cannot access memory at address {address:#x}: memory below {end:#x} is not in \
                 the core dump (the dump was written over it)"
            )),
            e => CommandError(e.to_string()),
        }
    }
}
