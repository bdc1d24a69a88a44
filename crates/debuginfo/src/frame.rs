//! What symbolizing a code location gives: frames with a function name and a source location.

use std::collections::HashMap;
use std::fmt;

use crate::lines::clean_path;

/// Where a function's name came from, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NameSource {
    /// The DWARF: for Rust, `DW_AT_name` within its namespaces; else `DW_AT_linkage_name`,
    /// demangled, or `DW_AT_name`.
    Dwarf,
    /// The module's `name` section (demangled).
    NameSection,
    /// The function's export, or that of the entry wrapper the rewriter put in front of it
    /// (see [`wasm_layout::FunctionNames`]).
    Export,
    /// An imported function's `module.field`.
    Import,
    /// No name anywhere: the name is `func[N]`.
    FunctionIndex,
    /// An inlined frame whose DWARF has no name: the name is `??`, as gdb shows it.
    Unknown,
}

/// A function's name as a debugger shows it, and as its symbol says.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FunctionName {
    /// The name gdb shows. For a Rust function that DWARF describes, its `DW_AT_name` within
    /// its namespaces, which keeps generic arguments and closure numbers:
    /// `typezoo::generic_sum<f32, typezoo::main::{closure_env#1}>`, `typezoo::main::{closure#1}`.
    /// Otherwise the demangled name without a Rust hash: `mything::calculate`, `foo(int)`,
    /// `func[12]`.
    pub name: String,
    /// The demangled symbol (the linkage name, else `DW_AT_name`), when it differs from
    /// [`FunctionName::name`]: `typezoo::generic_sum`, `typezoo::main::{{closure}}`. See
    /// [`FunctionName::symbol_name`].
    pub symbol: Option<String>,
    /// The name as found (mangled, if it was), when it differs from [`FunctionName::name`].
    pub raw: Option<String>,
    /// Where the name came from.
    pub source: NameSource,
}

impl FunctionName {
    pub(crate) fn new(raw: &str, language: Option<gimli::DwLang>, source: NameSource) -> Self {
        let name = crate::demangle::demangle(raw, language);
        let raw = (name != raw).then(|| raw.to_string());
        FunctionName {
            name: name.into_owned(),
            symbol: None,
            raw,
            source,
        }
    }

    pub(crate) fn index(func: u32) -> Self {
        FunctionName {
            name: wasm_layout::index_name(func),
            symbol: None,
            raw: None,
            source: NameSource::FunctionIndex,
        }
    }

    /// This name with `shown` as what a debugger shows ([`FunctionName::name`]); the name it
    /// had becomes [`FunctionName::symbol`].
    pub(crate) fn shown_as(mut self, shown: String) -> Self {
        if shown != self.name {
            let found = self.raw.take().unwrap_or_else(|| self.name.clone());
            self.raw = Some(found);
            self.symbol = Some(std::mem::replace(&mut self.name, shown));
        }
        self
    }

    /// The name as symbolizers that go by the symbol give it (Rust's own backtraces, addr2line,
    /// Sentry's symbolic): the demangled linkage name without generic arguments,
    /// `typezoo::generic_sum`, `typezoo::main::{{closure}}`. The same as [`FunctionName::name`]
    /// except for Rust functions that DWARF describes.
    pub fn symbol_name(&self) -> &str {
        self.symbol.as_deref().unwrap_or(&self.name)
    }
}

impl fmt::Display for FunctionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// A source location. Any part may be unknown.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Location {
    /// The source file's full path: the file as the DWARF names it, joined with its directory
    /// and the unit's compilation directory (`DW_AT_comp_dir`), as addr2line joins it. Open
    /// this one.
    pub file: Option<String>,
    /// The source file as the DWARF's line table records it, which is what gdb shows (its
    /// default `set filename-display relative`): the file's name joined with its include
    /// directory, but not with the compilation directory. Relative to the compilation directory
    /// when the DWARF records it so (`mything/src/main.rs`); absolute when the include directory
    /// is (`/rustc/<commit>/library/std/src/rt.rs`). Set whenever `file` is.
    pub recorded_file: Option<String>,
    /// The 1-based line.
    pub line: Option<u32>,
    /// The 1-based column; `None` when unknown or at the left edge.
    pub column: Option<u32>,
}

impl Location {
    /// A location from addr2line's, with the recorded paths of its unit's files (by full path).
    pub(crate) fn new(l: addr2line::Location<'_>, recorded: &HashMap<String, String>) -> Self {
        let file = l.file.map(clean_path);
        Location {
            recorded_file: file
                .as_deref()
                .map(|f| recorded.get(f).map_or(f, String::as_str).to_string()),
            file,
            line: l.line.filter(|&l| l != 0),
            column: l.column.filter(|&c| c != 0),
        }
    }

    /// The file as a debugger shows it: [`Location::recorded_file`], else [`Location::file`].
    pub fn shown_file(&self) -> Option<&str> {
        self.recorded_file.as_deref().or(self.file.as_deref())
    }
}

impl fmt::Display for Location {
    /// `file:line:column` with the file as recorded ([`Location::shown_file`]), leaving out
    /// what is unknown (`??` for an unknown file).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.shown_file().unwrap_or("??"))?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

/// A handle on the DWARF scope of a frame (a subprogram, or an inlined subroutine within one) at
/// a code address: what [`DebugInfo::variables`](crate::DebugInfo::variables) needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scope {
    /// The DWARF address (code-section relative).
    pub(crate) address: u64,
    /// `.debug_info` offset of the unit.
    pub(crate) unit: usize,
    /// Unit offset of the frame's DIE (`DW_TAG_subprogram` or `DW_TAG_inlined_subroutine`).
    pub(crate) die: usize,
    /// Unit offset of the concrete `DW_TAG_subprogram` that holds the frame base.
    pub(crate) function: usize,
}

impl Scope {
    /// The DWARF address the scope was found for.
    pub fn address(&self) -> u64 {
        self.address
    }

    /// Whether the scope is an inlined subroutine.
    pub fn is_inlined(&self) -> bool {
        self.die != self.function
    }
}

/// One frame of a symbolized code location. A Wasm frame expands to several of these when code
/// was inlined: the innermost inlined function first, the function the code belongs to last.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Frame {
    /// The function.
    pub function: FunctionName,
    /// Where in the source: for the innermost frame the instruction's line, for outer frames of
    /// an inline chain the line of the inlined call.
    pub location: Option<Location>,
    /// Whether this frame was inlined into the next one.
    pub inlined: bool,
    /// The DWARF scope, if DWARF describes the function: pass the frame to
    /// [`DebugInfo::variables`](crate::DebugInfo::variables).
    pub scope: Option<Scope>,
}

impl fmt::Display for Frame {
    /// `function at file:line:column`, or just the function when the location is unknown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.function.name)?;
        if let Some(location) = &self.location {
            write!(f, " at {location}")?;
        }
        Ok(())
    }
}
