//! A Wasm module's bytes and the sections debugging needs from it, found in one pass.

use std::ops::Range;
use std::sync::Arc;

use wasm_layout::{
    BUILD_ID_SECTION, BuildId, BuildIdEncoding, CodeLayout, InputFile, ModuleLayout,
};

use crate::error::{Error, Result};

/// A Wasm module (or a debug file) held in memory, with its sections (a [`ModuleLayout`]) and its
/// Code section's layout indexed.
///
/// Cheap to clone: the bytes are shared. Parsing reads section headers and the Code section's
/// body sizes only; no function body and no DWARF is decoded.
#[derive(Clone)]
pub struct Module {
    bytes: Arc<[u8]>,
    layout: ModuleLayout,
    code: Option<CodeLayout>,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Module")
            .field("len", &self.bytes.len())
            .field("code", &self.code.as_ref().map(|_| "..."))
            .field(
                "custom_sections",
                &self.custom_section_names().collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Module {
    /// Indexes a module's sections. Takes the bytes by value (or an `Arc`) so the debug info can
    /// borrow from them for as long as it lives.
    pub fn parse(bytes: impl Into<Arc<[u8]>>) -> Result<Module> {
        let bytes = bytes.into();
        let layout = ModuleLayout::parse(&bytes)?;
        let code = CodeLayout::read(&bytes, &layout)?;
        Ok(Module {
            bytes,
            layout,
            code,
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

    /// The module's sections.
    pub fn layout(&self) -> &ModuleLayout {
        &self.layout
    }

    /// The layout of the Code section, or `None` if the module has none.
    pub fn code_layout(&self) -> Option<&CodeLayout> {
        self.code.as_ref()
    }

    /// The payload of the first custom section called `name`.
    pub fn custom_section(&self, name: &str) -> Option<&[u8]> {
        self.custom_section_range(name).map(|r| &self.bytes[r])
    }

    /// The file range of the payload of the first custom section called `name`.
    pub fn custom_section_range(&self, name: &str) -> Option<Range<usize>> {
        self.layout.custom_section(name).map(|s| s.data.clone())
    }

    /// The names of the custom sections, in file order.
    pub fn custom_section_names(&self) -> impl Iterator<Item = &str> {
        self.layout
            .sections()
            .iter()
            .filter_map(|s| s.name.as_deref())
    }

    /// Whether the module carries DWARF (a `.debug_info` section).
    pub fn has_dwarf(&self) -> bool {
        self.custom_section(".debug_info")
            .is_some_and(|s| !s.is_empty())
    }

    /// The module's build id and how its first `build_id` section encodes it, if it has one with
    /// id bytes. A debugger takes the first of several such sections.
    pub fn build_id_and_encoding(&self) -> Option<(BuildId, BuildIdEncoding)> {
        BuildId::from_payload(self.custom_section(BUILD_ID_SECTION)?)
    }

    /// The module's build id, if it has a `build_id` section with id bytes.
    pub fn build_id(&self) -> Option<BuildId> {
        self.build_id_and_encoding().map(|(id, _)| id)
    }

    /// The URL or path in the module's `external_debug_info` section, if it has one. This crate
    /// never fetches it.
    pub fn external_debug_info(&self) -> Result<Option<String>> {
        Ok(self.layout.external_debug_info(&self.bytes)?)
    }

    /// The module name its `name` section gives it, if any.
    pub fn module_name(&self) -> Option<String> {
        self.layout.module_name(&self.bytes)
    }
}

/// Reads a whole file into one `Arc<[u8]>` allocation: a regular file only, no more than its
/// size ([`InputFile`]).
fn read_shared(path: &std::path::Path) -> std::io::Result<Arc<[u8]>> {
    let file = InputFile::open(path)?;
    let len = usize::try_from(file.size()).map_err(std::io::Error::other)?;
    // Collecting a `repeat_n` allocates the `Arc` once, at its final size.
    let mut bytes: Arc<[u8]> = std::iter::repeat_n(0u8, len).collect();
    file.read_into(Arc::get_mut(&mut bytes).expect("a new Arc is unique"))?;
    Ok(bytes)
}
