//! The names things are stored under: dump keys, debug file ids, and the store paths built from
//! them. Every path in the store is built here, from validated parts only.

use std::fmt;
use std::str::FromStr;

use debuginfo::BuildId;
use object_store::path::Path;

/// A stored dump's key: `coredump.<millis>.<16 hex digits>`. The prefix is what the older
/// service answered (`coredump.<millis>`); the random suffix keeps two dumps of the same
/// millisecond apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DumpKey {
    millis: u64,
    suffix: u64,
}

/// A key or id that is not one this service makes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {value:?}: {expected}")]
pub struct InvalidName {
    /// What was expected (`dump key`, `build_id`).
    pub what: &'static str,
    /// The text given (at most 80 characters of it).
    pub value: String,
    /// What a valid one looks like.
    pub expected: &'static str,
}

impl DumpKey {
    /// A new key for a dump received at `millis` (Unix time in milliseconds).
    pub fn new(millis: u64) -> Self {
        DumpKey {
            millis,
            suffix: rand::random(),
        }
    }

    /// When the dump was received, in Unix milliseconds.
    pub fn millis(&self) -> u64 {
        self.millis
    }

    /// Where the dump is stored (gzip-compressed).
    pub fn dump_path(&self) -> Path {
        Path::from(format!("coredumps/{self}.wasm.gz"))
    }

    /// Where the dump's record is stored: under a name that sorts newest first.
    pub fn record_path(&self) -> Path {
        Path::from(format!("records/{}", self.newest_first_name()))
    }

    /// The marker of a dump that Sentry has yet to receive.
    pub fn sentry_pending_path(&self) -> Path {
        Path::from(format!("sentry-pending/{self}"))
    }

    /// The marker of this dump in its group.
    pub fn group_member_path(&self, group: &Fingerprint) -> Path {
        Path::from(format!("groups/{group}/{}", self.newest_first_name()))
    }

    /// `<inverted millis>.<key>`: names that list newest first.
    fn newest_first_name(&self) -> String {
        format!("{:020}_{self}", u64::MAX - self.millis)
    }

    /// The key in a record's or group member's name (see [`DumpKey::record_path`]).
    pub fn from_newest_first_name(name: &str) -> Result<Self, InvalidName> {
        name.split_once('_').map_or(name, |(_, key)| key).parse()
    }
}

impl fmt::Display for DumpKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "coredump.{}.{:016x}", self.millis, self.suffix)
    }
}

impl FromStr for DumpKey {
    type Err = InvalidName;

    fn from_str(s: &str) -> Result<Self, InvalidName> {
        let invalid = || InvalidName {
            what: "dump key",
            value: s.chars().take(80).collect(),
            expected: "coredump.<millis>.<16 hex digits>",
        };
        let rest = s.strip_prefix("coredump.").ok_or_else(invalid)?;
        let (millis, suffix) = rest.split_once('.').ok_or_else(invalid)?;
        let digits = |t: &str, radix: u32, max: usize| {
            !t.is_empty()
                && t.len() <= max
                && t.chars()
                    .all(|c| c.is_digit(radix) && !c.is_ascii_uppercase())
        };
        if !digits(millis, 10, 19) || !digits(suffix, 16, 16) || suffix.len() != 16 {
            return Err(invalid());
        }
        Ok(DumpKey {
            millis: millis.parse().map_err(|_| invalid())?,
            suffix: u64::from_str_radix(suffix, 16).map_err(|_| invalid())?,
        })
    }
}

/// A debug file's id as its file name spells it (`debug-<id>.wasm`): a hyphenated lowercase
/// UUID for 16-byte build ids, lowercase hex otherwise. Only that one spelling is accepted, so
/// one file has one path.
pub fn parse_build_id(text: &str) -> Result<BuildId, InvalidName> {
    let invalid = || InvalidName {
        what: "build_id",
        value: text.chars().take(80).collect(),
        expected: "a lowercase hyphenated UUID, or lowercase hex for ids of other lengths",
    };
    let id: BuildId = text.parse().map_err(|_| invalid())?;
    if id.to_string() != text {
        return Err(invalid());
    }
    Ok(id)
}

/// Where the debug file of `id` is stored.
pub fn debug_file_path(id: &BuildId) -> Path {
    Path::from(format!("debuginfo/{}", id.debug_file_name()))
}

/// A group's fingerprint: the same crash in the same in-app functions, across builds.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// The fingerprint of `parts` (the crash's kind and the in-app function names).
    pub fn of<'a>(parts: impl IntoIterator<Item = &'a str>) -> Self {
        use sha1::Digest;
        let mut hash = sha1::Sha1::new();
        for part in parts {
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part.as_bytes());
        }
        let digest = hash.finalize();
        Fingerprint(digest[..16].iter().map(|b| format!("{b:02x}")).collect())
    }

    /// A fingerprint from its text: 32 lowercase hex digits.
    pub fn parse(text: &str) -> Option<Self> {
        (text.len() == 32
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| Fingerprint(text.to_string()))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_keep_the_older_prefix() {
        let key = DumpKey::new(1_700_000_000_123);
        let text = key.to_string();
        assert!(text.starts_with("coredump.1700000000123."), "{text}");
        assert_eq!(text.parse::<DumpKey>().unwrap(), key);
        let record = key.record_path();
        let name = record.filename().unwrap();
        assert_eq!(DumpKey::from_newest_first_name(name).unwrap(), key);
    }

    #[test]
    fn two_keys_of_one_millisecond_differ() {
        assert_ne!(DumpKey::new(5), DumpKey::new(5));
    }

    #[test]
    fn newer_records_sort_first() {
        let old = DumpKey::new(1_000).record_path().to_string();
        let new = DumpKey::new(2_000).record_path().to_string();
        assert!(new < old);
    }

    #[test]
    fn odd_keys_are_refused() {
        for bad in [
            "../etc/passwd",
            "coredump.1.../x",
            "coredump.1.ABCDEF0123456789",
            "coredump.1.0123456789abcdef/..",
            "coredump..0123456789abcdef",
            "coredump.1",
            "coredump.1.0123",
            "coredump.99999999999999999999.0123456789abcdef",
            "",
        ] {
            assert!(bad.parse::<DumpKey>().is_err(), "{bad}");
        }
    }

    #[test]
    fn build_ids_have_one_spelling() {
        let id = "72042600-cea8-475f-b28f-7824d5a0ff14";
        assert_eq!(parse_build_id(id).unwrap().to_string(), id);
        assert_eq!(
            debug_file_path(&parse_build_id(id).unwrap()).to_string(),
            format!("debuginfo/debug-{id}.wasm")
        );
        for bad in [
            "72042600CEA8475FB28F7824D5A0FF14",
            "72042600cea8475fb28f7824d5a0ff14",
            "../../x",
            "abc",
        ] {
            assert!(parse_build_id(bad).is_err(), "{bad}");
        }
        assert!(parse_build_id("0011223344556677889900112233445566778899").is_ok());
    }
}
