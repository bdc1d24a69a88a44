//! A Wasm module's bytes and the sections debugging needs from it, found in one pass.

use std::ops::Range;
use std::sync::Arc;

use wasmparser::{BinaryReader, Parser, Payload, TypeRef};

pub use debuginfo_split::{BUILD_ID_SECTION, EXTERNAL_DEBUG_INFO_SECTION};

use crate::build_id::BuildId;
use crate::error::{Error, Result};
use crate::layout::CodeLayout;

/// A Wasm module (or a debug file) held in memory, with its custom sections and its Code
/// section's layout indexed.
///
/// Cheap to clone: the bytes are shared. Parsing reads section headers and the Code section's
/// body sizes only; no function body and no DWARF is decoded.
#[derive(Clone)]
pub struct Module {
    bytes: Arc<[u8]>,
    layout: Option<CodeLayout>,
    custom_sections: Vec<(String, Range<usize>)>,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("len", &self.bytes.len())
            .field("layout", &self.layout.as_ref().map(|_| "..."))
            .field(
                "custom_sections",
                &self
                    .custom_sections
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

pub(crate) struct Scan {
    pub(crate) layout: Option<CodeLayout>,
    pub(crate) custom_sections: Vec<(String, Range<usize>)>,
}

/// Reads section headers, the imports (to count imported functions) and the Code section's
/// body ranges.
pub(crate) fn scan(bytes: &[u8]) -> Result<Scan> {
    let mut imported = 0u32;
    let mut code_start = None;
    let mut bodies = Vec::new();
    let mut custom_sections = Vec::new();
    let mut depth = 0u32;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload? {
            // Components nest modules; only the outermost module is ours.
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) if depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if matches!(import?.ty, TypeRef::Func(_) | TypeRef::FuncExact(_)) {
                        imported += 1;
                    }
                }
            }
            Payload::CodeSectionStart {
                unchecked_range, ..
            } => code_start = Some(unchecked_range.start),
            Payload::CodeSectionEntry(body) => {
                let range = body.range();
                bodies.push(range.start..range.end);
            }
            Payload::CustomSection(reader) => {
                let start = reader.data_offset() as usize;
                custom_sections.push((
                    reader.name().to_string(),
                    start..start + reader.data().len(),
                ));
            }
            _ => {}
        }
    }
    Ok(Scan {
        layout: code_start.map(|start| CodeLayout::new(start, imported, bodies)),
        custom_sections,
    })
}

impl Module {
    /// Indexes a module's sections. Takes the bytes by value (or an `Arc`) so the debug info can
    /// borrow from them for as long as it lives.
    pub fn parse(bytes: impl Into<Arc<[u8]>>) -> Result<Module> {
        let bytes = bytes.into();
        let Scan {
            layout,
            custom_sections,
        } = scan(&bytes)?;
        Ok(Module {
            bytes,
            layout,
            custom_sections,
        })
    }

    /// Reads and indexes the module at `path`. The file is read straight into the shared
    /// buffer (no second copy).
    pub fn read(path: impl AsRef<std::path::Path>) -> Result<Module> {
        let path = path.as_ref();
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        Module::parse(read_shared(path).map_err(io)?)
    }

    /// The whole file.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub(crate) fn shared_bytes(&self) -> &Arc<[u8]> {
        &self.bytes
    }

    /// The layout of the Code section, or `None` if the module has none.
    pub fn code_layout(&self) -> Option<&CodeLayout> {
        self.layout.as_ref()
    }

    /// The payload of the first custom section called `name`.
    pub fn custom_section(&self, name: &str) -> Option<&[u8]> {
        self.custom_section_range(name).map(|r| &self.bytes[r])
    }

    /// The file range of the payload of the first custom section called `name`.
    pub fn custom_section_range(&self, name: &str) -> Option<Range<usize>> {
        self.custom_sections
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, r)| r.clone())
    }

    /// The names of the custom sections, in file order.
    pub fn custom_section_names(&self) -> impl Iterator<Item = &str> {
        self.custom_sections.iter().map(|(n, _)| n.as_str())
    }

    /// Whether the module carries DWARF (a `.debug_info` section).
    pub fn has_dwarf(&self) -> bool {
        self.custom_section(".debug_info")
            .is_some_and(|s| !s.is_empty())
    }

    /// The module's build id: the payload of its `build_id` section, if it has a non-empty one.
    pub fn build_id(&self) -> Option<BuildId> {
        self.custom_section(BUILD_ID_SECTION)
            .and_then(BuildId::from_bytes)
    }

    /// The URL or path in the module's `external_debug_info` section (a Wasm name: LEB length
    /// and UTF-8), if it has one. This crate never fetches it.
    pub fn external_debug_info(&self) -> Result<Option<String>> {
        let Some(range) = self.custom_section_range(EXTERNAL_DEBUG_INFO_SECTION) else {
            return Ok(None);
        };
        parse_external_debug_info(&self.bytes[range.clone()], range.start).map(Some)
    }
}

/// Reads a whole file into one `Arc<[u8]>` allocation.
fn read_shared(path: &std::path::Path) -> std::io::Result<Arc<[u8]>> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let len = usize::try_from(file.metadata()?.len()).map_err(std::io::Error::other)?;
    // Collecting a `repeat_n` allocates the `Arc` once, at its final size.
    let mut bytes: Arc<[u8]> = std::iter::repeat_n(0u8, len).collect();
    let buf = Arc::get_mut(&mut bytes).expect("a new Arc is unique");
    file.read_exact(buf)?;
    if file.read(&mut [0])? != 0 {
        return Err(std::io::Error::other("the file grew while it was read"));
    }
    Ok(bytes)
}

/// Decodes an `external_debug_info` payload: a LEB128 length and that many bytes of UTF-8.
/// `offset` is the payload's file offset, for the error message.
pub fn parse_external_debug_info(payload: &[u8], offset: usize) -> Result<String> {
    let mut reader = BinaryReader::new(payload, offset as u64);
    let err = |message: String| Error::CustomSection {
        section: EXTERNAL_DEBUG_INFO_SECTION.into(),
        offset,
        message,
    };
    let url = reader
        .read_string()
        .map_err(|e| err(e.message().to_string()))?;
    if !reader.eof() {
        return Err(err(format!(
            "{} bytes after the URL",
            reader.bytes_remaining()
        )));
    }
    Ok(url.to_string())
}
