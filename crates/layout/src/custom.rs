//! The small custom sections every tool reads or writes: `external_debug_info` (Debugging.md),
//! the `name` section's module name, and the encoding of a custom section.

use wasm_encoder::Encode;

use crate::error::Error;
use crate::sections::ModuleLayout;

/// Name of the custom section pointing at the debug file (tool-conventions Debugging.md).
pub const EXTERNAL_DEBUG_INFO_SECTION: &str = "external_debug_info";

/// Name of the custom section holding function, local and module names.
pub const NAME_SECTION: &str = "name";

/// Encodes a whole custom section: id 0, size, name, data.
pub fn custom_section(name: &str, data: &[u8]) -> Vec<u8> {
    let mut section = vec![0];
    wasm_encoder::CustomSection {
        name: name.into(),
        data: data.into(),
    }
    .encode(&mut section);
    section
}

/// The whole `external_debug_info` section for `url`: its payload is a Wasm name (LEB length
/// and UTF-8).
pub fn external_debug_info_section(url: &str) -> Vec<u8> {
    let mut data = Vec::with_capacity(5 + url.len());
    url.encode(&mut data);
    custom_section(EXTERNAL_DEBUG_INFO_SECTION, &data)
}

impl ModuleLayout {
    /// The URL or path in the module's `external_debug_info` section, if it has one. Nothing here
    /// fetches it.
    pub fn external_debug_info(&self, module: &[u8]) -> Result<Option<String>, Error> {
        let Some(section) = self.custom_section(EXTERNAL_DEBUG_INFO_SECTION) else {
            return Ok(None);
        };
        let malformed = |message: String| Error::CustomSection {
            section: self.section_ref(section),
            message,
        };
        let mut reader = section.reader(module);
        let url = reader
            .read_string()
            .map_err(|e| malformed(format!("{} (at offset {:#x})", e.message(), e.offset())))?;
        if !reader.eof() {
            return Err(malformed(format!(
                "{} bytes after the URL",
                reader.bytes_remaining()
            )));
        }
        Ok(Some(url.to_owned()))
    }

    /// The module name the `name` section gives the module, if any. A malformed `name` section
    /// has none (engines ignore such a section too).
    pub fn module_name(&self, module: &[u8]) -> Option<String> {
        let section = self.custom_section(NAME_SECTION)?;
        let names = wasmparser::NameSectionReader::new(section.reader(module));
        names.into_iter().find_map(|name| match name {
            Ok(wasmparser::Name::Module { name, .. }) => Some(name.to_owned()),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_encode() {
        assert_eq!(custom_section("ab", &[1, 2]), [0, 5, 2, b'a', b'b', 1, 2]);
        let section = external_debug_info_section("u");
        assert_eq!(&section[..2], &[0, 22]);
        assert_eq!(&section[section.len() - 2..], &[1, b'u']);
    }

    #[test]
    fn external_debug_info_and_module_name() {
        let mut module = wat::parse_str("(module $app)").unwrap();
        module.extend(external_debug_info_section("debug-1.wasm"));
        let layout = ModuleLayout::parse(&module).unwrap();
        assert_eq!(
            layout.external_debug_info(&module).unwrap().as_deref(),
            Some("debug-1.wasm")
        );
        assert_eq!(layout.module_name(&module).as_deref(), Some("app"));
        let mut bad = wat::parse_str("(module)").unwrap();
        bad.extend(custom_section(EXTERNAL_DEBUG_INFO_SECTION, &[9, b'x']));
        let layout = ModuleLayout::parse(&bad).unwrap();
        let err = layout.external_debug_info(&bad).unwrap_err().to_string();
        assert!(
            err.starts_with(
                "malformed custom section `external_debug_info` (section 0 at offset 0x8): "
            ),
            "{err}"
        );
    }
}
