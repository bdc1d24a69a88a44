//! Compilation units parsed on demand (for variables and types), by `.debug_info` offset.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::sync::Arc;

use crate::context::Reader;
use crate::error::{Error, Result};

/// A parsed unit, shared.
pub(crate) type UnitArc = Arc<gimli::Unit<Reader>>;

/// Units parsed so far, and the start offsets of all units (read once, from the headers only).
#[derive(Default)]
pub(crate) struct UnitCache {
    parsed: RefCell<HashMap<usize, UnitArc>>,
    starts: OnceCell<Vec<usize>>,
}

impl std::fmt::Debug for UnitCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnitCache")
            .field("parsed", &self.parsed.borrow().len())
            .finish()
    }
}

impl UnitCache {
    /// The unit whose header is at `offset` in `.debug_info`.
    pub(crate) fn unit(&self, dwarf: &gimli::Dwarf<Reader>, offset: usize) -> Result<UnitArc> {
        if let Some(unit) = self.parsed.borrow().get(&offset) {
            return Ok(unit.clone());
        }
        let header = dwarf
            .debug_info
            .header_from_offset(gimli::DebugInfoOffset(offset))?;
        let unit = Arc::new(dwarf.unit(header)?);
        self.parsed.borrow_mut().insert(offset, unit.clone());
        Ok(unit)
    }

    /// The unit containing the DIE at `offset` in `.debug_info`, and the DIE's offset in it.
    pub(crate) fn unit_containing(
        &self,
        dwarf: &gimli::Dwarf<Reader>,
        offset: usize,
    ) -> Result<(UnitArc, gimli::UnitOffset)> {
        let starts = self.starts.get_or_init(|| {
            let mut starts = Vec::new();
            let mut headers = dwarf.units();
            while let Ok(Some(header)) = headers.next() {
                starts.push(header.offset().0);
            }
            starts
        });
        let i = starts.partition_point(|&s| s <= offset);
        let start = *i
            .checked_sub(1)
            .and_then(|i| starts.get(i))
            .ok_or_else(|| Error::InvalidReference(format!("no unit holds DIE {offset:#x}")))?;
        let unit = self.unit(dwarf, start)?;
        Ok((unit, gimli::UnitOffset(offset - start)))
    }
}
