//! The build id and the few custom sections this crate encodes itself.

use std::fmt;

use uuid::Uuid;
use wasm_encoder::Encode;

/// Name of the custom section holding a module's build id (tool-conventions BuildId.md).
pub const BUILD_ID_SECTION: &str = "build_id";

/// Name of the custom section pointing at the debug file (tool-conventions Debugging.md).
pub const EXTERNAL_DEBUG_INFO_SECTION: &str = "external_debug_info";

/// Name of the custom section that stands in for a stripped section placed before Code.
pub const PADDING_SECTION: &str = "debuginfo-split.padding";

/// The namespace of deterministic (v5) build ids: `Uuid::new_v5(NAMESPACE, module bytes)`.
pub const DETERMINISTIC_NAMESPACE: Uuid =
    Uuid::from_u128(0x5e1c_0b4f_2d7a_4e8b_9a61_3c0d_f2b8_7e95);

/// A module's build id: the raw payload of its `build_id` custom section.
///
/// Usually a 16-byte UUID, printed hyphenated (`1b4e28ba-2fa1-11d2-883f-0016d3cca427`). A linker
/// may write another length (lld `--build-id=fast` writes 8 bytes, `sha1` 20): such an id is kept
/// as is and printed as lowercase hex. The debug file is named `debug-<Display>.wasm`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BuildId(Vec<u8>);

impl BuildId {
    /// An id from raw bytes. Returns `None` for an empty slice.
    pub fn from_bytes(bytes: &[u8]) -> Option<BuildId> {
        (!bytes.is_empty()).then(|| BuildId(bytes.to_vec()))
    }

    /// The raw id bytes, exactly the `build_id` section's payload.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The id as a UUID, when it is 16 bytes long.
    pub fn as_uuid(&self) -> Option<Uuid> {
        Uuid::from_slice(&self.0).ok()
    }

    /// The conventional name of the debug file: `debug-<id>.wasm`.
    pub fn debug_file_name(&self) -> String {
        format!("debug-{self}.wasm")
    }
}

impl From<Uuid> for BuildId {
    fn from(uuid: Uuid) -> BuildId {
        BuildId(uuid.as_bytes().to_vec())
    }
}

impl fmt::Display for BuildId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_uuid() {
            Some(uuid) => write!(f, "{}", uuid.hyphenated()),
            None => self.0.iter().try_for_each(|b| write!(f, "{b:02x}")),
        }
    }
}

impl fmt::Debug for BuildId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BuildId({self})")
    }
}

/// The v5 UUID of `input` in [`DETERMINISTIC_NAMESPACE`]: what `Uuid::new_v5` computes, with a
/// faster SHA-1.
pub(crate) fn deterministic(input: &[u8]) -> Uuid {
    use sha1::{Digest, Sha1};
    let mut hasher = Sha1::new();
    hasher.update(DETERMINISTIC_NAMESPACE.as_bytes());
    hasher.update(input);
    let hash = hasher.finalize();
    let mut bytes = [0; 16];
    bytes.copy_from_slice(&hash[..16]);
    uuid::Builder::from_sha1_bytes(bytes).into_uuid()
}

/// Encodes a whole custom section: id 0, size, name, data.
pub(crate) fn custom_section(name: &str, data: &[u8]) -> Vec<u8> {
    let mut section = vec![0];
    wasm_encoder::CustomSection {
        name: name.into(),
        data: data.into(),
    }
    .encode(&mut section);
    section
}

/// The `external_debug_info` section: its payload is a Wasm name (LEB length
/// + UTF-8) holding the URL.
pub(crate) fn external_debug_info(url: &str) -> Vec<u8> {
    let mut data = Vec::with_capacity(5 + url.len());
    url.encode(&mut data);
    custom_section(EXTERNAL_DEBUG_INFO_SECTION, &data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display() {
        let uuid = Uuid::parse_str("1b4e28ba-2fa1-11d2-883f-0016d3cca427").unwrap();
        let id = BuildId::from(uuid);
        assert_eq!(id.to_string(), "1b4e28ba-2fa1-11d2-883f-0016d3cca427");
        assert_eq!(id.as_uuid(), Some(uuid));
        assert_eq!(
            id.debug_file_name(),
            "debug-1b4e28ba-2fa1-11d2-883f-0016d3cca427.wasm"
        );
        let short = BuildId::from_bytes(&[0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 0xff]).unwrap();
        assert_eq!(short.to_string(), "deadbeef000102ff");
        assert_eq!(short.as_uuid(), None);
        assert_eq!(BuildId::from_bytes(&[]), None);
    }

    #[test]
    fn leb_and_sections() {
        assert_eq!(custom_section("ab", &[1, 2]), [0, 5, 2, b'a', b'b', 1, 2]);
        let section = external_debug_info("u");
        assert_eq!(&section[..2], &[0, 22]);
        assert_eq!(&section[section.len() - 2..], &[1, b'u']);
    }
}
