//! Range and location lists (`.debug_ranges`/`.debug_loc` of DWARF 4,
//! `.debug_rnglists`/`.debug_loclists` of DWARF 5), `.debug_addr` and
//! `.debug_aranges`, patched in place: every entry keeps its size.

use std::collections::HashMap;

use super::info::{ListKind, ListOffset, Refs, Unit};
use super::{Input, Mapped, Mapper, Sections, address_max, malformed, read_uint, read_uleb};
use super::{write_uint, write_uleb_fixed};
use crate::error::{Error, unsupported};

/// Patches every list `.debug_info` points at; returns the sections that
/// changed. The `.debug_addr` entries the DWARF 5 lists use as code
/// addresses are added to `addr_entries` (positions in `.debug_addr`).
pub(crate) fn patch(
    sections: &Sections<'_>,
    mapper: &Mapper<'_>,
    refs: &Refs,
    addr_entries: &mut Vec<usize>,
) -> Result<Vec<(&'static str, Vec<u8>)>, Error> {
    let names = [
        ".debug_ranges",
        ".debug_loc",
        ".debug_rnglists",
        ".debug_loclists",
    ];
    let mut outs: [Option<Vec<u8>>; 4] = Default::default();
    // Every list once, in section order: (section, offset, unit).
    let mut order = Vec::with_capacity(refs.lists.len());
    for list in &refs.lists {
        let unit = &refs.units[list.unit];
        let which = match (list.kind, unit.version >= 5) {
            (ListKind::Ranges, false) => 0,
            (ListKind::Locations, false) => 1,
            (ListKind::Ranges, true) => 2,
            (ListKind::Locations, true) => 3,
        };
        let offset = match list.offset {
            ListOffset::Direct(offset) => offset,
            ListOffset::Index(index) => table_entry(
                sections.get(names[which]),
                names[which],
                unit,
                list.kind,
                index,
            )?,
        };
        order.push((which, offset, list.unit));
    }
    order.sort_unstable();
    let mut previous: Option<(usize, u64, u64)> = None;
    for (which, offset, unit) in order {
        let unit = &refs.units[unit];
        let name = names[which];
        let input = sections.get(name);
        match previous {
            // A list shared by units with different bases cannot be
            // patched in place.
            Some((w, o, base)) if (w, o) == (which, offset) && base != unit.base => {
                return Err(unsupported(
                    format!(
                        "{name}: a list at {offset:#x} shared by units with different base addresses"
                    ),
                    (input.file_offset as u64).saturating_add(offset),
                ));
            }
            Some((w, o, _)) if (w, o) == (which, offset) => continue,
            _ => previous = Some((which, offset, unit.base)),
        }
        let locations = which % 2 == 1;
        let out = outs[which].get_or_insert_with(|| input.data.to_vec());
        let mut list_patch = ListPatch {
            name,
            input,
            out,
            mapper,
            unit,
            locations,
        };
        if unit.version >= 5 {
            let debug_addr = sections.get(".debug_addr");
            list_patch.v5(offset as usize, debug_addr, addr_entries)?;
        } else {
            list_patch.v4(offset as usize)?;
        }
    }
    Ok(names
        .into_iter()
        .zip(outs)
        .filter_map(|(name, out)| Some((name, out?)))
        .collect())
}

/// The offset of list `index` of a unit (DWARF 5 `DW_FORM_rnglistx` and
/// `DW_FORM_loclistx`): its offsets table starts at the unit's
/// `DW_AT_rnglists_base`/`DW_AT_loclists_base` and holds offsets from there.
fn table_entry(
    input: Input<'_>,
    name: &str,
    unit: &Unit,
    kind: ListKind,
    index: u64,
) -> Result<u64, Error> {
    let base = match kind {
        ListKind::Ranges => unit.rnglists_base,
        ListKind::Locations => unit.loclists_base,
    };
    let size = u64::from(unit.offset_size);
    base.and_then(|base| {
        let pos = base.checked_add(index.checked_mul(size)?)?;
        Some(base + read_uint(input.data, usize::try_from(pos).ok()?, size as usize)?)
    })
    .ok_or_else(|| {
        malformed(
            name,
            input,
            0,
            &format!("list index {index} out of the unit's offsets table"),
        )
    })
}

/// One list being patched.
struct ListPatch<'a, 'b> {
    name: &'static str,
    input: Input<'a>,
    out: &'b mut Vec<u8>,
    mapper: &'b Mapper<'b>,
    unit: &'b Unit,
    locations: bool,
}

impl ListPatch<'_, '_> {
    fn truncated(&self, pos: usize) -> Error {
        malformed(
            self.name,
            self.input,
            pos,
            "list runs past the section's end",
        )
    }

    fn read(&self, pos: usize, width: usize) -> Result<u64, Error> {
        read_uint(self.input.data, pos, width).ok_or_else(|| self.truncated(pos))
    }

    fn uleb(&self, pos: usize) -> Result<(u64, usize), Error> {
        read_uleb(self.input.data, pos).ok_or_else(|| self.truncated(pos))
    }

    /// What becomes of the entry `[start, end)` relative to `base`: the
    /// bounds in [`Mapped`] are relative to the new base too.
    fn entry(&self, (base, new_base): (u64, u64), start: u64, end: u64) -> Mapped {
        let max = address_max(self.unit.address_size);
        // No wrapping: an entry relative to a tombstoned base is dead too.
        let (Some(start), Some(end)) = (base.checked_add(start), base.checked_add(end)) else {
            return Mapped::Outside;
        };
        if start > max || end > max {
            return Mapped::Outside;
        }
        let relative = |address: u64| address.wrapping_sub(new_base) & max;
        match self.mapper.range(start, end) {
            Mapped::Outside => Mapped::Outside,
            Mapped::Range(s, e) => Mapped::Range(relative(s), relative(e)),
            Mapped::Unmappable(s) => {
                self.mapper.tombstoned();
                Mapped::Unmappable(relative(s))
            }
        }
    }

    /// A DWARF 4 list: pairs of addresses relative to the base address, a
    /// base address selection entry (`max`, base), or the end (0, 0); a
    /// location list entry is followed by a 2-byte length and an expression.
    fn v4(&mut self, mut pos: usize) -> Result<(), Error> {
        let size = usize::from(self.unit.address_size);
        let max = address_max(self.unit.address_size);
        let mut base = (self.unit.base, self.mapper.map_or_keep(self.unit.base));
        loop {
            let start = self.read(pos, size)?;
            let end = self.read(pos + size, size)?;
            if start == 0 && end == 0 {
                return Ok(());
            }
            if start == max {
                base = (end, self.mapper.map_or_keep(end));
                write_uint(self.out, pos + size, size, base.1);
                pos += 2 * size;
                continue;
            }
            let (s, e) = match self.entry(base, start, end) {
                Mapped::Outside => (start, end),
                Mapped::Range(s, e) => (s, e),
                // lld's tombstone here: -1 would select a base address.
                Mapped::Unmappable(_) => (max - 1, max - 1),
            };
            write_uint(self.out, pos, size, s);
            write_uint(self.out, pos + size, size, e);
            pos += 2 * size;
            if self.locations {
                pos += 2 + self.read(pos, 2)? as usize;
            }
        }
    }

    /// A DWARF 5 list (`DW_RLE_*`/`DW_LLE_*` entries).
    fn v5(
        &mut self,
        mut pos: usize,
        debug_addr: Input<'_>,
        addr_entries: &mut Vec<usize>,
    ) -> Result<(), Error> {
        let size = usize::from(self.unit.address_size);
        let max = address_max(self.unit.address_size);
        let mut base = (self.unit.base, self.mapper.map_or_keep(self.unit.base));
        // The address of entry `index` of `.debug_addr`, recorded as a code
        // address.
        let (unit, name, input) = (self.unit, self.name, self.input);
        let mut indexed = |index: u64, at: usize| -> Result<u64, Error> {
            let entry = unit
                .addr_base
                .and_then(|b| usize::try_from(b + index * size as u64).ok());
            let Some(entry) = entry else {
                return Err(malformed(
                    name,
                    input,
                    at,
                    "address index without DW_AT_addr_base",
                ));
            };
            addr_entries.push(entry);
            read_uint(debug_addr.data, entry, size).ok_or_else(|| {
                malformed(
                    ".debug_addr",
                    debug_addr,
                    entry,
                    "address index out of bounds",
                )
            })
        };
        loop {
            let kind = *self
                .input
                .data
                .get(pos)
                .ok_or_else(|| self.truncated(pos))?;
            let at = pos;
            pos += 1;
            // DW_LLE_* numbers the entries after offset_pair differently.
            let kind = match (self.locations, kind) {
                (true, 5) => Kind::Default,
                (true, 6) | (false, 5) => Kind::BaseAddress,
                (true, 7) | (false, 6) => Kind::StartEnd,
                (true, 8) | (false, 7) => Kind::StartLength,
                (_, 0) => return Ok(()),
                (_, 1) => Kind::BaseAddressx,
                (_, 2) => Kind::StartxEndx,
                (_, 3) => Kind::StartxLength,
                (_, 4) => Kind::OffsetPair,
                _ => {
                    return Err(malformed(
                        self.name,
                        self.input,
                        at,
                        &format!("unknown list entry kind {kind}"),
                    ));
                }
            };
            match kind {
                Kind::Default => {}
                Kind::BaseAddressx => {
                    let (index, len) = self.uleb(pos)?;
                    let address = indexed(index, at)?;
                    base = (address, self.mapper.map_or_keep(address));
                    pos += len;
                    continue;
                }
                Kind::BaseAddress => {
                    let address = self.read(pos, size)?;
                    base = (address, self.mapper.map_or_keep(address));
                    write_uint(self.out, pos, size, base.1);
                    pos += size;
                    continue;
                }
                Kind::StartxEndx => {
                    let (start, len) = self.uleb(pos)?;
                    let (end, len2) = self.uleb(pos + len)?;
                    let range = (indexed(start, at)?, indexed(end, at)?);
                    // The addresses are mapped in `.debug_addr`, where other
                    // entries may use them: an entry without an image ends
                    // at its start instead.
                    if let Mapped::Unmappable(_) = self.entry((0, 0), range.0, range.1) {
                        let fits = write_uleb_fixed(self.out, pos + len, len2, start);
                        self.check_fits(fits, at)?;
                    }
                    pos += len + len2;
                }
                Kind::StartxLength => {
                    let (index, len) = self.uleb(pos)?;
                    let start = indexed(index, at)?;
                    pos += len;
                    pos = self.length(start, pos, at)?.0;
                }
                Kind::OffsetPair => {
                    let (start, len) = self.uleb(pos)?;
                    let (end, len2) = self.uleb(pos + len)?;
                    let new = match self.entry(base, start, end) {
                        Mapped::Outside => None,
                        Mapped::Range(s, e) => Some((s, e)),
                        // Too short a LEB128 for a tombstone: empty instead.
                        Mapped::Unmappable(s) => Some((s, s)),
                    };
                    if let Some((s, e)) = new {
                        let fits = write_uleb_fixed(self.out, pos, len, s)
                            && write_uleb_fixed(self.out, pos + len, len2, e);
                        self.check_fits(fits, at)?;
                    }
                    pos += len + len2;
                }
                Kind::StartEnd => {
                    let start = self.read(pos, size)?;
                    let end = self.read(pos + size, size)?;
                    let (s, e) = match self.entry((0, 0), start, end) {
                        Mapped::Outside => (start, end),
                        Mapped::Range(s, e) => (s, e),
                        Mapped::Unmappable(_) => (max, max),
                    };
                    write_uint(self.out, pos, size, s);
                    write_uint(self.out, pos + size, size, e);
                    pos += 2 * size;
                }
                Kind::StartLength => {
                    let start = self.read(pos, size)?;
                    let (next, tombstoned) = self.length(start, pos + size, at)?;
                    let new = match tombstoned {
                        true => max,
                        false => self.mapper.map_or_keep(start),
                    };
                    write_uint(self.out, pos, size, new);
                    pos = next;
                }
            }
            if self.locations {
                let (len, n) = self.uleb(pos)?;
                pos += n + len as usize;
            }
        }
    }

    /// Patches the ULEB length at `pos` of a range starting at `start`, 0
    /// if the range has no image; returns the position after it, and
    /// whether the range is to be tombstoned.
    fn length(&mut self, start: u64, pos: usize, at: usize) -> Result<(usize, bool), Error> {
        let (length, len) = self.uleb(pos)?;
        let (new, tombstoned) = match self.entry((0, 0), start, start.saturating_add(length)) {
            Mapped::Outside => return Ok((pos + len, false)),
            Mapped::Range(s, e) => (e - s, false),
            Mapped::Unmappable(_) => (0, true),
        };
        let fits = write_uleb_fixed(self.out, pos, len, new);
        self.check_fits(fits, at)?;
        Ok((pos + len, tombstoned))
    }

    fn check_fits(&self, fits: bool, at: usize) -> Result<(), Error> {
        if fits {
            return Ok(());
        }
        Err(unsupported(
            format!(
                "{}: a moved offset or length no longer fits its LEB128",
                self.name
            ),
            (self.input.file_offset + at) as u64,
        ))
    }
}

/// A DWARF 5 list entry, whichever of the two numberings it came in.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Default,
    BaseAddressx,
    BaseAddress,
    StartxEndx,
    StartxLength,
    OffsetPair,
    StartEnd,
    StartLength,
}

/// Patches the `.debug_addr` entries used as code addresses: those in
/// `entries` and those the DIEs use.
pub(crate) fn patch_addr(
    sections: &Sections<'_>,
    mapper: &Mapper<'_>,
    refs: &Refs,
    mut entries: Vec<usize>,
) -> Result<Option<Vec<u8>>, Error> {
    let input = sections.get(".debug_addr");
    let mut sizes = HashMap::new();
    for &(unit, index) in &refs.code_addr_indices {
        let unit = &refs.units[unit];
        let size = usize::from(unit.address_size);
        let Some(pos) = unit.addr_base.map(|b| b as usize + index as usize * size) else {
            return Err(malformed(
                ".debug_info",
                sections.get(".debug_info"),
                0,
                "address index without DW_AT_addr_base",
            ));
        };
        entries.push(pos);
        sizes.insert(pos, size);
    }
    if entries.is_empty() {
        return Ok(None);
    }
    entries.sort_unstable();
    entries.dedup();
    let mut out = input.data.to_vec();
    for pos in entries {
        let size = sizes.get(&pos).copied().unwrap_or(4);
        let address = read_uint(input.data, pos, size)
            .ok_or_else(|| malformed(".debug_addr", input, pos, "address index out of bounds"))?;
        write_uint(&mut out, pos, size, mapper.map_or_keep(address));
    }
    Ok(Some(out))
}

/// Patches the (address, length) tuples of `.debug_aranges`.
pub(crate) fn patch_aranges(
    input: Input<'_>,
    mapper: &Mapper<'_>,
) -> Result<Option<Vec<u8>>, Error> {
    const NAME: &str = ".debug_aranges";
    if input.data.is_empty() {
        return Ok(None);
    }
    let data = input.data;
    let bad = |pos: usize| malformed(NAME, input, pos, "truncated or malformed set");
    let mut out = data.to_vec();
    let mut set = 0;
    while set < data.len() {
        let (length, offset_size, mut pos) =
            match read_uint(data, set, 4).ok_or_else(|| bad(set))? {
                0xffff_ffff => (
                    read_uint(data, set + 4, 8).ok_or_else(|| bad(set))?,
                    8,
                    set + 12,
                ),
                length => (length, 4, set + 4),
            };
        let end = pos.checked_add(length as usize).ok_or_else(|| bad(set))?;
        pos += 2 + offset_size; // version, debug_info_offset
        let size = usize::from(*data.get(pos).ok_or_else(|| bad(pos))?);
        let segment = *data.get(pos + 1).ok_or_else(|| bad(pos))?;
        if segment != 0 || size == 0 || size > 8 {
            return Err(unsupported(
                format!("{NAME}: segment selectors or address size {size}"),
                (input.file_offset + set) as u64,
            ));
        }
        pos += 2;
        // Tuples are aligned to twice the address size from the set's start.
        let tuple = 2 * size;
        pos = set + (pos - set).div_ceil(tuple) * tuple;
        while pos + tuple <= end {
            let address = read_uint(data, pos, size).ok_or_else(|| bad(pos))?;
            let length = read_uint(data, pos + size, size).ok_or_else(|| bad(pos))?;
            if address == 0 && length == 0 {
                break;
            }
            let (address, length) = match mapper.range(address, address.saturating_add(length)) {
                Mapped::Outside => (address, length),
                Mapped::Range(s, e) => (s, e - s),
                Mapped::Unmappable(_) => {
                    mapper.tombstoned();
                    (address_max(size as u8), 0)
                }
            };
            write_uint(&mut out, pos, size, address);
            write_uint(&mut out, pos + size, size, length);
            pos += tuple;
        }
        set = end;
    }
    Ok(Some(out))
}
