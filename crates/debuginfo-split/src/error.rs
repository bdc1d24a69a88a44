//! Why an input could not be split.

use crate::BuildId;

/// Why [`split`](crate::split) refused an input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is not a well-formed core module, or its `build_id` is ambiguous or empty. The
    /// error names the byte offset and section.
    #[error(transparent)]
    Layout(#[from] wasm_layout::Error),

    /// The module has no `.debug_*` custom section: nothing to split. This is also what an
    /// already split module gives. Callers usually treat it as "nothing to do", not a failure.
    #[error("no DWARF (no `.debug_*` custom section): nothing to split")]
    NoDwarf {
        /// The module's `build_id`, if it has one (an already split module does).
        build_id: Option<BuildId>,
    },
}
