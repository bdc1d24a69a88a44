//! The build id of tool-conventions BuildId.md, and the ids Sentry derives from it.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;
use wasm_encoder::Encode;

use crate::custom::custom_section;
use crate::error::Error;
use crate::sections::{ModuleLayout, read_leb};

/// Name of the custom section holding a module's build id (tool-conventions BuildId.md).
pub const BUILD_ID_SECTION: &str = "build_id";

/// The namespace of deterministic (v5) build ids: see [`BuildId::deterministic`].
pub const DETERMINISTIC_NAMESPACE: Uuid =
    Uuid::from_u128(0x5e1c_0b4f_2d7a_4e8b_9a61_3c0d_f2b8_7e95);

/// A module's build id: the id bytes of its `build_id` custom section.
///
/// BuildId.md encodes the section's payload as `length: varuint32` followed by `length` id bytes;
/// lld `--build-id` (`fast`, `uuid`) writes 16 id bytes, `--build-id=sha1` (and `tree`) 20. A
/// 16-byte id is shown hyphenated, as a UUID (`720426ce-a847-5f72-8f78-24d5a0ff14ef`), any other
/// length as lowercase hex. The debug file is named `debug-<Display>.wasm`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BuildId(Vec<u8>);

/// How a `build_id` section's payload holds its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildIdEncoding {
    /// BuildId.md's: a LEB128 length, then exactly that many id bytes (what lld writes).
    Spec,
    /// No length: the whole payload is the id, as wasm-coredump's tools wrote it before they
    /// followed BuildId.md. Read for compatibility, never written.
    Raw,
}

impl BuildId {
    /// An id from its bytes. Returns `None` for an empty slice.
    pub fn from_bytes(bytes: &[u8]) -> Option<BuildId> {
        (!bytes.is_empty()).then(|| BuildId(bytes.to_vec()))
    }

    /// Decodes a `build_id` section's payload. A payload whose first LEB128 equals the number of
    /// bytes after it is [`BuildIdEncoding::Spec`]; any other is read as a raw id
    /// ([`BuildIdEncoding::Raw`]). Returns `None` when there are no id bytes.
    pub fn from_payload(payload: &[u8]) -> Option<(BuildId, BuildIdEncoding)> {
        match read_leb(payload) {
            Some((len, leb)) if len == (payload.len() - leb) as u64 => {
                BuildId::from_bytes(&payload[leb..]).map(|id| (id, BuildIdEncoding::Spec))
            }
            _ => BuildId::from_bytes(payload).map(|id| (id, BuildIdEncoding::Raw)),
        }
    }

    /// A random (v4 UUID) id.
    pub fn random() -> BuildId {
        Uuid::new_v4().into()
    }

    /// The v5 UUID of `input` in [`DETERMINISTIC_NAMESPACE`]: the same input always gets the same
    /// id. What `Uuid::new_v5` computes, with a faster SHA-1 (about 10 ms for 17 MB on a CPU
    /// with SHA extensions).
    pub fn deterministic(input: &[u8]) -> BuildId {
        use sha1::{Digest, Sha1};
        let mut hasher = Sha1::new();
        hasher.update(DETERMINISTIC_NAMESPACE.as_bytes());
        hasher.update(input);
        let hash = hasher.finalize();
        let mut bytes = [0; 16];
        bytes.copy_from_slice(&hash[..16]);
        uuid::Builder::from_sha1_bytes(bytes).into_uuid().into()
    }

    /// The id bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The id as a UUID, when it is 16 bytes long.
    pub fn as_uuid(&self) -> Option<Uuid> {
        Uuid::from_slice(&self.0).ok()
    }

    /// The `build_id` section's payload for this id, as BuildId.md encodes it: the length as a
    /// LEB128, then the id bytes.
    pub fn payload(&self) -> Vec<u8> {
        let mut payload = Vec::with_capacity(5 + self.0.len());
        self.0.as_slice().encode(&mut payload);
        payload
    }

    /// The whole `build_id` custom section for this id: id 0, size, name and
    /// [`BuildId::payload`].
    pub fn section(&self) -> Vec<u8> {
        custom_section(BUILD_ID_SECTION, &self.payload())
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

/// Why a string is not a build id: see [`BuildId`]'s `FromStr`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a build id (a hyphenated UUID or an even number of hex digits): {0:?}")]
pub struct ParseBuildIdError(String);

impl FromStr for BuildId {
    type Err = ParseBuildIdError;

    /// Reads an id as [`Display`](fmt::Display) writes it: a hyphenated UUID, or hex digits (two
    /// a byte, either case).
    fn from_str(s: &str) -> Result<BuildId, ParseBuildIdError> {
        let error = || ParseBuildIdError(s.to_owned());
        if s.contains('-') {
            return Uuid::try_parse(s).map(BuildId::from).map_err(|_| error());
        }
        if s.is_empty() || !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(error());
        }
        let bytes = (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|_| error()))
            .collect::<Result<Vec<u8>, _>>()?;
        Ok(BuildId(bytes))
    }
}

/// The ids Sentry gives a Wasm module, as its symbolic library (`symbolic-debuginfo`'s Wasm
/// reader, which Sentry's server, sentry-cli and the JS SDK share) computes them.
///
/// They do not follow BuildId.md: symbolic takes the whole `build_id` payload, length byte
/// included, as the id. So a conformant 16-byte id `10 7204...ef` gets the `debug_id`
/// `10720426-cea8-475f-728f-7824d5a0ff14`. An event must carry these values for Sentry to match
/// it with a debug file uploaded with sentry-cli.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SentryIds {
    /// Lowercase hex of the whole payload.
    pub code_id: String,
    /// The UUID of the payload's first 16 bytes; nil when it is shorter.
    pub debug_id: Uuid,
}

impl SentryIds {
    /// The ids of a `build_id` payload.
    pub fn from_payload(payload: &[u8]) -> SentryIds {
        SentryIds {
            code_id: payload.iter().map(|b| format!("{b:02x}")).collect(),
            debug_id: payload
                .get(..16)
                .and_then(|first| Uuid::from_slice(first).ok())
                .unwrap_or_else(Uuid::nil),
        }
    }

    /// The ids of the module (or debug file) `module`: those of its `build_id` section, `None`
    /// when it has none. Fails only when `module` is not a well-formed module.
    pub fn of_module(module: &[u8]) -> Result<Option<SentryIds>, Error> {
        let layout = ModuleLayout::parse(module)?;
        Ok(layout
            .custom_section(BUILD_ID_SECTION)
            .map(|section| SentryIds::from_payload(&module[section.data.clone()])))
    }
}

impl ModuleLayout {
    /// The module's build id and how its section encodes it; `None` when it has no `build_id`
    /// section. Fails when it has two, or one with no id bytes.
    pub fn build_id(&self, module: &[u8]) -> Result<Option<(BuildId, BuildIdEncoding)>, Error> {
        let mut sections = self.custom_sections(BUILD_ID_SECTION);
        let Some(first) = sections.next() else {
            return Ok(None);
        };
        if let Some(second) = sections.next() {
            return Err(Error::DuplicateBuildId {
                first: first.range.start,
                second: second.range.start,
            });
        }
        match BuildId::from_payload(&module[first.data.clone()]) {
            Some(found) => Ok(Some(found)),
            None => Err(Error::EmptyBuildId {
                section: self.section_ref(first),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LLD_UUID: [u8; 17] = [
        0x10, 0x72, 0x04, 0x26, 0xce, 0xa8, 0x47, 0x5f, 0x72, 0x8f, 0x78, 0x24, 0xd5, 0xa0, 0xff,
        0x14, 0xef,
    ];

    #[test]
    fn display_and_parse() {
        let uuid = Uuid::parse_str("1b4e28ba-2fa1-11d2-883f-0016d3cca427").unwrap();
        let id = BuildId::from(uuid);
        assert_eq!(id.to_string(), "1b4e28ba-2fa1-11d2-883f-0016d3cca427");
        assert_eq!(id.as_uuid(), Some(uuid));
        assert_eq!(
            id.debug_file_name(),
            "debug-1b4e28ba-2fa1-11d2-883f-0016d3cca427.wasm"
        );
        assert_eq!(id.to_string().parse::<BuildId>(), Ok(id));
        let short = BuildId::from_bytes(&[0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 0xff]).unwrap();
        assert_eq!(short.to_string(), "deadbeef000102ff");
        assert_eq!(short.as_uuid(), None);
        assert_eq!("DEADBEEF000102ff".parse::<BuildId>(), Ok(short));
        // 18 bytes: 36 hex digits, as long as a hyphenated UUID.
        let long = BuildId::from_bytes(&[0x5a; 18]).unwrap();
        assert_eq!(long.to_string().parse::<BuildId>(), Ok(long));
        assert_eq!(BuildId::from_bytes(&[]), None);
        for bad in ["", "abc", "xy", "1b4e28ba-2fa1-11d2-883f-0016d3cca42g"] {
            assert!(bad.parse::<BuildId>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn payloads_follow_build_id_md() {
        // lld --build-id: 0x10 then 16 bytes.
        let (id, encoding) = BuildId::from_payload(&LLD_UUID).unwrap();
        assert_eq!(encoding, BuildIdEncoding::Spec);
        assert_eq!(id.to_string(), "720426ce-a847-5f72-8f78-24d5a0ff14ef");
        assert_eq!(id.payload(), LLD_UUID);
        // lld --build-id=sha1: 0x14 then 20 bytes.
        let mut sha1 = vec![0x14];
        sha1.extend(1..=20u8);
        let (id, encoding) = BuildId::from_payload(&sha1).unwrap();
        assert_eq!(encoding, BuildIdEncoding::Spec);
        assert_eq!(id.as_bytes(), &sha1[1..]);
        assert_eq!(id.to_string(), "0102030405060708090a0b0c0d0e0f1011121314");
        // The older tools' raw 16 bytes: the first byte is no length of the rest.
        let raw = &LLD_UUID[1..];
        let (id, encoding) = BuildId::from_payload(raw).unwrap();
        assert_eq!(encoding, BuildIdEncoding::Raw);
        assert_eq!(id.as_bytes(), raw);
        assert_eq!(BuildId::from_payload(&[]), None);
        assert_eq!(BuildId::from_payload(&[0]), None);
        // A length LEB of several bytes.
        let long = BuildId::from_bytes(&[7; 200]).unwrap();
        assert_eq!(&long.payload()[..2], &[0xc8, 0x01]);
        assert_eq!(
            BuildId::from_payload(&long.payload()),
            Some((long, BuildIdEncoding::Spec))
        );
    }

    #[test]
    fn sentry_takes_the_whole_payload() {
        let ids = SentryIds::from_payload(&LLD_UUID);
        assert_eq!(ids.code_id, "10720426cea8475f728f7824d5a0ff14ef");
        assert_eq!(
            ids.debug_id.to_string(),
            "10720426-cea8-475f-728f-7824d5a0ff14"
        );
        let short = SentryIds::from_payload(&[4, 1, 2, 3, 4]);
        assert_eq!(short.code_id, "0401020304");
        assert!(short.debug_id.is_nil());
    }

    #[test]
    fn deterministic_ids_are_uuid_v5() {
        let input = b"\0asm\x01\0\0\0 some module";
        assert_eq!(
            BuildId::deterministic(input),
            Uuid::new_v5(&DETERMINISTIC_NAMESPACE, input).into()
        );
    }

    #[test]
    fn module_build_id() {
        let mut module = wat::parse_str("(module)").unwrap();
        let layout = ModuleLayout::parse(&module).unwrap();
        assert_eq!(layout.build_id(&module).unwrap(), None);
        let id = BuildId::from_bytes(&[1, 2, 3]).unwrap();
        module.extend(id.section());
        let layout = ModuleLayout::parse(&module).unwrap();
        assert_eq!(
            layout.build_id(&module).unwrap(),
            Some((id.clone(), BuildIdEncoding::Spec))
        );
        assert_eq!(
            SentryIds::of_module(&module).unwrap().unwrap().code_id,
            "03010203"
        );
        module.extend(id.section());
        let layout = ModuleLayout::parse(&module).unwrap();
        assert!(matches!(
            layout.build_id(&module),
            Err(Error::DuplicateBuildId { .. })
        ));
    }
}
