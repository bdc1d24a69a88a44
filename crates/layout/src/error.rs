//! What can go wrong reading a module's layout, with the byte offset and section where it went
//! wrong.

use std::fmt;

/// Why a module's layout could not be read.
///
/// Every variant names the byte offset and, where one is known, the section. Offsets are file
/// offsets into the module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is not a WebAssembly binary at all: empty, too short for the 8-byte header, or
    /// not starting with the `\0asm` magic number.
    #[error("not a WebAssembly module: {reason}")]
    NotWasm {
        /// What was found instead, e.g. "the file is empty".
        reason: String,
    },

    /// The input is a WebAssembly component. Only core modules are read.
    #[error("a WebAssembly component, not a core module: components are not supported")]
    Component,

    /// A section's declared size runs past the end of the input: the file was cut short.
    #[error(
        "truncated: {section} declares {size} bytes of content, but the input ends {available} \
         bytes into it (at offset {end:#x})"
    )]
    Truncated {
        /// The section whose content is cut.
        section: SectionRef,
        /// The content size its header declares.
        size: u64,
        /// How many content bytes the input holds.
        available: u64,
        /// The input's length, where the section is cut.
        end: usize,
    },

    /// The input's structure is invalid; `message` is wasmparser's description.
    #[error(
        "malformed module at offset {offset:#x}{}: {message}",
        InSection(section)
    )]
    Malformed {
        /// File offset of the problem.
        offset: usize,
        /// The section being read when the problem was found, if any.
        section: Option<SectionRef>,
        /// What is wrong.
        message: String,
    },

    /// A `build_id` custom section with no id bytes in it.
    #[error("{section} is empty: a build id needs at least one byte")]
    EmptyBuildId {
        /// The empty section.
        section: SectionRef,
    },

    /// More than one `build_id` custom section: which one identifies the module is ambiguous.
    #[error("two build_id sections, at offsets {first:#x} and {second:#x}")]
    DuplicateBuildId {
        /// File offset of the first one.
        first: usize,
        /// File offset of the second one.
        second: usize,
    },

    /// A custom section's content is not what its convention says (`external_debug_info`,
    /// `build_id`).
    #[error("malformed {section}: {message}")]
    CustomSection {
        /// The section.
        section: SectionRef,
        /// What is wrong with it.
        message: String,
    },

    /// The function index names an imported function, which has no code.
    #[error("function {func} is imported (the module imports {imported} functions)")]
    ImportedFunction {
        /// The function index.
        func: u32,
        /// The number of imported functions.
        imported: u32,
    },

    /// The function index is past the last function of the module.
    #[error("no function {func}: the module has {count} functions")]
    NoSuchFunction {
        /// The function index.
        func: u32,
        /// The number of functions (imported and defined).
        count: u32,
    },

    /// The code offset is past the end of the function's body.
    #[error("code offset {code_offset:#x} is past the end of function {func} ({len:#x} bytes)")]
    CodeOffsetOutOfRange {
        /// The function index.
        func: u32,
        /// The offset relative to the start of the body.
        code_offset: u32,
        /// The length of the body.
        len: u64,
    },
}

/// Names a top-level section of the input, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SectionRef {
    /// Position of the section among the module's sections, from 0.
    pub index: usize,
    /// File offset of the section's id byte.
    pub offset: usize,
    /// The section id (0 for custom sections, 10 for Code, ...).
    pub id: u8,
    /// A custom section's name, when it could be read.
    pub name: Option<String>,
}

/// At most this many characters of a custom section's name are shown in a message: the name
/// comes from the input, which may hold anything.
const NAME_EXCERPT: usize = 40;

impl SectionRef {
    /// What the section is, without where: `memory section`, ``custom section `.debug_info` ``
    /// (the name escaped and cut), `section with unknown id 14`.
    pub fn what(&self) -> impl fmt::Display + '_ {
        SectionWhat(self)
    }
}

impl fmt::Display for SectionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (section {} at offset {:#x})",
            self.what(),
            self.index,
            self.offset
        )
    }
}

/// [`SectionRef::what`].
struct SectionWhat<'a>(&'a SectionRef);

impl fmt::Display for SectionWhat<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let section = self.0;
        match (&section.name, section_kind(section.id)) {
            (Some(name), _) => {
                let shown: String = name
                    .chars()
                    .take(NAME_EXCERPT)
                    .flat_map(char::escape_debug)
                    .collect();
                let cut = if name.chars().nth(NAME_EXCERPT).is_some() {
                    "..."
                } else {
                    ""
                };
                write!(f, "custom section `{shown}{cut}`")
            }
            (None, Some(kind)) => write!(f, "{kind} section"),
            (None, None) => write!(f, "section with unknown id {}", section.id),
        }
    }
}

struct InSection<'a>(&'a Option<SectionRef>);

impl fmt::Display for InSection<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(section) => write!(f, " in {section}"),
            None => Ok(()),
        }
    }
}

/// The spec's name of a section id.
fn section_kind(id: u8) -> Option<&'static str> {
    Some(match id {
        0 => "custom",
        1 => "type",
        2 => "import",
        3 => "function",
        4 => "table",
        5 => "memory",
        6 => "global",
        7 => "export",
        8 => "start",
        9 => "element",
        10 => "code",
        11 => "data",
        12 => "data count",
        13 => "tag",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_section_and_offset() {
        let section = SectionRef {
            index: 7,
            offset: 0x1a3,
            id: 0,
            name: Some(".debug_info".into()),
        };
        let err = Error::Truncated {
            section,
            size: 5000,
            available: 120,
            end: 0x220,
        };
        assert_eq!(
            err.to_string(),
            "truncated: custom section `.debug_info` (section 7 at offset 0x1a3) declares 5000 \
             bytes of content, but the input ends 120 bytes into it (at offset 0x220)"
        );
        let err = Error::Malformed {
            offset: 0x2c,
            section: Some(SectionRef {
                index: 3,
                offset: 0x20,
                id: 10,
                name: None,
            }),
            message: "unexpected end-of-file".into(),
        };
        assert_eq!(
            err.to_string(),
            "malformed module at offset 0x2c in code section (section 3 at offset 0x20): \
             unexpected end-of-file"
        );
    }

    /// A custom section's name is the input's to choose: a message shows it escaped, and no
    /// more than its start.
    #[test]
    fn a_section_name_is_escaped_and_cut() {
        let section = |name: String| SectionRef {
            index: 1,
            offset: 8,
            id: 0,
            name: Some(name),
        };
        assert_eq!(
            section("a\nb\u{1b}[2J".into()).to_string(),
            "custom section `a\\nb\\u{1b}[2J` (section 1 at offset 0x8)"
        );
        let long = section("x".repeat(100_000)).to_string();
        assert_eq!(
            long,
            format!(
                "custom section `{}...` (section 1 at offset 0x8)",
                "x".repeat(40)
            )
        );
    }
}
