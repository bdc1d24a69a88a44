//! Where a DWARF read that ran out of input was: gimli reports it as a pointer into the bytes
//! (`Error::UnexpectedEof`), which this names as a section and a file offset.
//!
//! The DWARF of every [`DebugInfo`](crate::DebugInfo) is read from slices of its module's shared
//! bytes; each module registers here where its DWARF sections are, for as long as its bytes live.

use std::ops::Range;
use std::sync::{Arc, Mutex, Weak};

/// The bytes of a module whose DWARF is being read, and its DWARF sections' data as file offsets.
struct Loaded {
    bytes: Weak<[u8]>,
    sections: Vec<(&'static str, Range<usize>)>,
}

static LOADED: Mutex<Vec<Loaded>> = Mutex::new(Vec::new());

/// Registers `sections` (names and file ranges of their data) of the module made of `bytes`.
pub(crate) fn register(bytes: &Arc<[u8]>, sections: Vec<(&'static str, Range<usize>)>) {
    let mut loaded = LOADED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    loaded.retain(|l| l.bytes.strong_count() > 0);
    loaded.push(Loaded {
        bytes: Arc::downgrade(bytes),
        sections,
    });
}

/// Where in a module's file a DWARF read failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectionOffset {
    /// The DWARF section (`.debug_info`).
    pub section: &'static str,
    /// The file offset.
    pub offset: u64,
}

impl std::fmt::Display for SectionOffset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} offset {:#x}", self.section, self.offset)
    }
}

/// Where `err` happened, if it carries that (a read that ran out of input) and it is in the DWARF
/// of a registered module that is still loaded.
pub(crate) fn locate(err: &gimli::Error) -> Option<SectionOffset> {
    let gimli::Error::UnexpectedEof(id) = err else {
        return None;
    };
    let loaded = LOADED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    loaded.iter().find_map(|module| {
        let bytes = module.bytes.upgrade()?;
        let offset = usize::try_from(id.0.checked_sub(bytes.as_ptr() as u64)?).ok()?;
        // A read that ran out of input stopped at most at its section's end.
        let (section, _) = module
            .sections
            .iter()
            .find(|(_, range)| range.start <= offset && offset <= range.end)?;
        Some(SectionOffset {
            section,
            offset: offset as u64,
        })
    })
}
