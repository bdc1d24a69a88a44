//! Split the DWARF out of a WebAssembly module: a stripped module to ship and a debug file,
//! `debug-<build_id>.wasm`, to keep for symbolizing, both stamped with the same `build_id`.
//!
//! The main function is [`split`]: it reads the module's top-level sections (never a function
//! body) and returns a [`Split`], the build id plus the two outputs as [`Output`]s, lists of
//! slices of the input that a caller writes without copying the module.
//!
//! # The two files
//!
//! - The **stripped module** is the input, every section byte-identical and in order, minus its
//!   `.debug_*` custom sections (and `name` with [`SplitOptions::strip_names`]), plus a
//!   `build_id` section and, with [`SplitOptions::external_url`], an `external_debug_info` one.
//! - The **debug file** is the whole input, Code and DWARF included, plus the same `build_id`
//!   section. When the input already has a build id, the debug file *is* the input.
//!
//! A module without DWARF has nothing to split: [`split`] says so ([`Error::NoDwarf`]), or,
//! with [`SplitOptions::allow_no_dwarf`], gives its stripped module (the input with its build
//! id) to ship alone, as the `debuginfo-split` command does.
//!
//! # Code offsets
//!
//! The Code section sits at the same file offset in the input, the stripped module and the debug
//! file, so an address in the shipped module resolves against the debug file (as Sentry's
//! symbolicator and LLDB do). A new `build_id` section goes at the end of both files, after
//! Code. A stripped section placed *before* Code (rare: toolchains put DWARF after it) is
//! replaced in the stripped module by a [`PADDING_SECTION`] custom section of exactly the same
//! size, so nothing before Code moves.
//!
//! # Example
//!
//! ```
//! use debuginfo_split::{split, BuildIdSource, NewBuildId, SplitOptions};
//!
//! // A module with a function and a `.debug_info` custom section after its Code section.
//! let mut module = wat::parse_str("(module (func (export \"f\") nop))").unwrap();
//! module.extend_from_slice(&[0, 13, 11]);
//! module.extend_from_slice(b".debug_info\x01");
//!
//! let mut opts = SplitOptions::default();
//! opts.new_build_id = NewBuildId::Deterministic;
//! let out = split(&module, &opts).unwrap();
//! assert_eq!(out.build_id_source(), BuildIdSource::Deterministic);
//! println!("build_id {}: write {}", out.build_id(), out.build_id().debug_file_name());
//!
//! let stripped = out.stripped().to_vec();
//! let debug = out.debug().to_vec();
//! assert!(stripped.len() < debug.len());
//! // Same id, same input: same bytes.
//! assert_eq!(split(&module, &opts).unwrap().stripped().to_vec(), stripped);
//! // The Code section is where it was in the input, in both files.
//! let code = out.code().unwrap();
//! assert_eq!(stripped[code.clone()], module[code.clone()]);
//! assert_eq!(debug[code.clone()], module[code]);
//! ```

#![deny(missing_docs)]

mod error;
mod output;

use std::ops::Range;

use wasm_encoder::Encode;
use wasm_layout::{
    EXTERNAL_DEBUG_INFO_SECTION, HEADER_LEN, ModuleLayout, Section, external_debug_info_section,
};

pub use error::Error;
pub use output::{Chunks, Output};
pub use wasm_layout::{BuildId, BuildIdEncoding, DETERMINISTIC_NAMESPACE};

/// Name of the custom section that stands in for a stripped section placed before Code.
pub const PADDING_SECTION: &str = "debuginfo-split.padding";

/// How to pick a build id for a module that has none. A module's own `build_id` section (e.g.
/// from lld `--build-id`) always wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum NewBuildId {
    /// A random (v4) UUID.
    #[default]
    Random,
    /// This id.
    Given(BuildId),
    /// [`BuildId::deterministic`] of the input's bytes: the same input always gets the same id.
    Deterministic,
}

/// Options of [`split`]. `SplitOptions::default()` strips only DWARF and picks a random id.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SplitOptions {
    /// The build id to give a module that has none.
    pub new_build_id: NewBuildId,
    /// Also remove the `name` section from the stripped module. Off by default, so engine
    /// stack traces of the shipped module keep their function names.
    pub strip_names: bool,
    /// Add an `external_debug_info` section with this URL to the stripped module (replacing any
    /// it had); every `{uuid}` in it is replaced by the build id.
    pub external_url: Option<String>,
    /// Split an input without DWARF too, instead of failing with [`Error::NoDwarf`]: for a
    /// build step that always ships a module with a build id. Its stripped module is then the
    /// input plus the `build_id` section (less `name` with
    /// [`strip_names`](SplitOptions::strip_names); no `external_debug_info`, there being no
    /// debug file to point at), and [`Split::has_dwarf`] is `false`.
    pub allow_no_dwarf: bool,
}

/// Where a [`Split`]'s build id came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildIdSource {
    /// The input's own `build_id` section, kept as is.
    Existing,
    /// [`NewBuildId::Given`].
    Given,
    /// [`NewBuildId::Random`].
    Random,
    /// [`NewBuildId::Deterministic`].
    Deterministic,
}

impl BuildIdSource {
    /// A lowercase name: `existing`, `given`, `random` or `deterministic`.
    pub fn as_str(self) -> &'static str {
        match self {
            BuildIdSource::Existing => "existing",
            BuildIdSource::Given => "given",
            BuildIdSource::Random => "random",
            BuildIdSource::Deterministic => "deterministic",
        }
    }
}

/// A section of the input that the stripped module leaves out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RemovedSection {
    /// The custom section's name.
    pub name: String,
    /// The whole section (header included) in the input.
    pub range: Range<usize>,
    /// Whether it sat before the Code section and so was replaced by a padding section of the
    /// same size.
    pub padded: bool,
}

/// The result of [`split`]: the build id and the two files, borrowing the input.
#[derive(Debug, Clone)]
pub struct Split<'a> {
    build_id: BuildId,
    build_id_source: BuildIdSource,
    build_id_encoding: BuildIdEncoding,
    stripped: Output<'a>,
    debug: Output<'a>,
    code: Option<Range<usize>>,
    removed: Vec<RemovedSection>,
    debug_suffix: Vec<u8>,
    has_dwarf: bool,
}

impl<'a> Split<'a> {
    /// The build id both files carry in their `build_id` section.
    pub fn build_id(&self) -> &BuildId {
        &self.build_id
    }

    /// Whether the build id was the input's own or a new one, and how it was made.
    pub fn build_id_source(&self) -> BuildIdSource {
        self.build_id_source
    }

    /// How the input's `build_id` section encodes its id ([`BuildIdEncoding::Raw`] for files of
    /// the older tools, kept as they are); [`BuildIdEncoding::Spec`] for a new id.
    pub fn build_id_encoding(&self) -> BuildIdEncoding {
        self.build_id_encoding
    }

    /// The module to ship: no DWARF, same Code section at the same offset.
    pub fn stripped(&self) -> &Output<'a> {
        &self.stripped
    }

    /// The debug file, `debug-<build_id>.wasm`: the whole input plus the `build_id` section.
    pub fn debug(&self) -> &Output<'a> {
        &self.debug
    }

    /// What the debug file adds after the input: the encoded `build_id` section, or nothing when
    /// the input had one. The debug file is exactly the input followed by these bytes, so a
    /// caller may also make it by appending them to a copy (or a link) of the input's file.
    pub fn debug_suffix(&self) -> &[u8] {
        &self.debug_suffix
    }

    /// The Code section's content (from its function-count LEB to its end), the base of DWARF
    /// addresses. The same file range in the input, the stripped module and the debug file.
    /// `None` for a module without functions.
    pub fn code(&self) -> Option<Range<usize>> {
        self.code.clone()
    }

    /// The sections left out of the stripped module, in input order.
    pub fn removed(&self) -> &[RemovedSection] {
        &self.removed
    }

    /// Whether the input had DWARF to move. Only a split made with
    /// [`SplitOptions::allow_no_dwarf`] has none: its debug file is then the input and its
    /// `build_id`, with nothing to symbolize with, and is not worth writing.
    pub fn has_dwarf(&self) -> bool {
        self.has_dwarf
    }
}

/// Splits the module `input` into a stripped module and a debug file.
///
/// Reads only the top-level section layout; the outputs borrow `input`. Fails with
/// [`Error::NoDwarf`] when there is nothing to split (no `.debug_*` section: a module built
/// without debug info, or one already split) unless [`SplitOptions::allow_no_dwarf`] is set,
/// and with the other [`Error`]s for an input that is not a well-formed core module.
pub fn split<'a>(input: &'a [u8], opts: &SplitOptions) -> Result<Split<'a>, Error> {
    let layout = ModuleLayout::parse(input)?;
    let existing = layout.build_id(input)?;
    let sections = layout.sections();
    let has_dwarf = sections.iter().any(Section::is_dwarf);
    if !has_dwarf && !opts.allow_no_dwarf {
        return Err(Error::NoDwarf {
            build_id: existing.map(|(id, _)| id),
        });
    }
    // Without DWARF there is no debug file for an `external_debug_info` section to name.
    let external_url = opts.external_url.as_ref().filter(|_| has_dwarf);
    let build_id_encoding = existing.as_ref().map_or(BuildIdEncoding::Spec, |&(_, e)| e);
    let (build_id, build_id_source) = match existing {
        Some((id, _)) => (id, BuildIdSource::Existing),
        None => match &opts.new_build_id {
            NewBuildId::Random => (BuildId::random(), BuildIdSource::Random),
            NewBuildId::Given(id) => (id.clone(), BuildIdSource::Given),
            NewBuildId::Deterministic => {
                (BuildId::deterministic(input), BuildIdSource::Deterministic)
            }
        },
    };
    let debug_suffix = match build_id_source {
        BuildIdSource::Existing => Vec::new(),
        _ => build_id.section(),
    };

    // Sections before this index keep their offsets in the stripped module.
    let code_index = sections.iter().position(Section::is_code);
    let removed_here = |s: &Section| {
        s.is_dwarf()
            || (opts.strip_names && s.is_custom("name"))
            || (external_url.is_some() && s.is_custom(EXTERNAL_DEBUG_INFO_SECTION))
    };

    let mut stripped = Output::new(input);
    let mut removed = Vec::new();
    stripped.push_input(0..HEADER_LEN);
    for (index, section) in sections.iter().enumerate() {
        if !removed_here(section) {
            stripped.push_input(section.range.clone());
            continue;
        }
        let padded = code_index.is_some_and(|code| index < code);
        if padded {
            push_padding(&mut stripped, section);
        }
        removed.push(RemovedSection {
            name: section.name.clone().unwrap_or_default(),
            range: section.range.clone(),
            padded,
        });
    }

    let mut debug = Output::new(input);
    debug.push_input(0..input.len());
    if !debug_suffix.is_empty() {
        stripped.push_owned(debug_suffix.clone());
        debug.push_owned(debug_suffix.clone());
    }
    if let Some(url) = external_url {
        let url = url.replace("{uuid}", &build_id.to_string());
        stripped.push_owned(external_debug_info_section(&url));
    }

    Ok(Split {
        build_id,
        build_id_source,
        build_id_encoding,
        stripped,
        debug,
        code: code_index.map(|i| sections[i].content.clone()),
        removed,
        debug_suffix,
        has_dwarf,
    })
}

/// Appends a custom section of exactly `section`'s size: its own id and size bytes, then the
/// [`PADDING_SECTION`] name (or an empty name when the section is too small for it), then zeros.
fn push_padding(out: &mut Output<'_>, section: &Section) {
    out.push_input(section.header());
    let size = section.content.len();
    let mut name = Vec::new();
    PADDING_SECTION.encode(&mut name);
    if name.len() > size {
        name.clear();
        "".encode(&mut name);
    }
    // A custom section's content holds at least its name's length byte, so this never underflows.
    let zeros = size - name.len();
    out.push_owned(name);
    out.push_zeros(zeros);
}
