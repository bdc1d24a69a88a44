//! What symbolizing a code location gives: frames with a function name and a source location.

use std::fmt;

/// Where a function's name came from, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NameSource {
    /// The DWARF (`DW_AT_linkage_name`, demangled, or `DW_AT_name`).
    Dwarf,
    /// The module's `name` section (demangled).
    NameSection,
    /// No name anywhere: the name is `func[N]`.
    FunctionIndex,
    /// An inlined frame whose DWARF has no name: the name is `??`, as gdb shows it.
    Unknown,
}

/// A function's name as a debugger shows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FunctionName {
    /// The demangled name without a Rust hash: `mything::calculate`, `foo(int)`, `func[12]`.
    pub name: String,
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
            raw,
            source,
        }
    }

    pub(crate) fn index(func: u32) -> Self {
        FunctionName {
            name: format!("func[{func}]"),
            raw: None,
            source: NameSource::FunctionIndex,
        }
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
    /// The source file, as the DWARF names it (joined with the unit's directory).
    pub file: Option<String>,
    /// The 1-based line.
    pub line: Option<u32>,
    /// The 1-based column; `None` when unknown or at the left edge.
    pub column: Option<u32>,
}

impl From<addr2line::Location<'_>> for Location {
    fn from(l: addr2line::Location<'_>) -> Self {
        Location {
            file: l.file.map(clean_path),
            line: l.line.filter(|&l| l != 0),
            column: l.column.filter(|&c| c != 0),
        }
    }
}

/// addr2line joins a unit's directory and a file name that may itself be a URL
/// (`wasisdk://v30.0/build/.../wasisdk://v30.0/src/abort.c`): keep the last URL.
fn clean_path(path: &str) -> String {
    if let Some(i) = path.rfind("://") {
        let scheme_start = path[..i]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(0, |j| j + 1);
        if scheme_start > 0 && path[..scheme_start].ends_with('/') && scheme_start < i {
            return path[scheme_start..].to_string();
        }
    }
    path.to_string()
}

impl fmt::Display for Location {
    /// `file:line:column`, leaving out what is unknown (`??` for an unknown file).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.file.as_deref().unwrap_or("??"))?;
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

#[cfg(test)]
mod tests {
    use super::clean_path;

    #[test]
    fn a_url_file_name_is_not_joined_to_the_directory() {
        assert_eq!(
            clean_path("wasisdk://v30.0/build/x/wasisdk://v30.0/src/abort.c"),
            "wasisdk://v30.0/src/abort.c"
        );
        assert_eq!(
            clean_path("wasisdk://v30.0/src/abort.c"),
            "wasisdk://v30.0/src/abort.c"
        );
        assert_eq!(
            clean_path("/rustc/abc/library/core/src/lib.rs"),
            "/rustc/abc/library/core/src/lib.rs"
        );
    }
}
