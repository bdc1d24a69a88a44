//! `.debug_info`: patches the address attributes in place and collects what
//! the other sections need (each unit's base address, the lists it points
//! at, its line program).

use gimli::{AttributeValue, DwAt, DwForm, EndianSlice, LittleEndian, constants as dw};

use super::{Input, Mapped, Mapper, Sections, address_max, gimli_error, malformed};
use super::{read_uint, read_uleb, write_uint, write_uleb_fixed};
use crate::error::{Error, unsupported};

const SECTION: &str = ".debug_info";

/// What a unit's lists are read with.
#[derive(Debug, Clone, Default)]
pub(crate) struct Unit {
    pub version: u16,
    pub address_size: u8,
    /// 4 or 8 (32- or 64-bit DWARF).
    pub offset_size: u8,
    /// The unit's base address (its root's `DW_AT_low_pc`), as in the input.
    pub base: u64,
    pub addr_base: Option<u64>,
    pub rnglists_base: Option<u64>,
    pub loclists_base: Option<u64>,
}

/// Which list section a list lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum ListKind {
    /// `DW_AT_ranges`: `.debug_ranges` or `.debug_rnglists`.
    Ranges,
    /// A location list: `.debug_loc` or `.debug_loclists`.
    Locations,
}

/// Where a list is: a section offset, or (DWARF 5 `*x` forms) an index
/// into the unit's offsets table.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ListOffset {
    Direct(u64),
    Index(u64),
}

/// A list some DIE points at.
#[derive(Debug, Clone)]
pub(crate) struct ListRef {
    pub kind: ListKind,
    pub offset: ListOffset,
    /// Index into [`Refs::units`].
    pub unit: usize,
}

/// A `DW_AT_stmt_list` value to update once `.debug_line` is re-encoded.
#[derive(Debug, Clone)]
pub(crate) struct StmtList {
    /// Position of the value in `.debug_info`.
    pub pos: usize,
    pub width: usize,
    /// The program's offset in the input's `.debug_line`.
    pub offset: u64,
    pub address_size: u8,
}

/// What the walk of `.debug_info` found.
#[derive(Debug, Default)]
pub(crate) struct Refs {
    pub units: Vec<Unit>,
    pub lists: Vec<ListRef>,
    pub stmt_lists: Vec<StmtList>,
    /// `.debug_addr` entries used as code addresses: (unit, index).
    pub code_addr_indices: Vec<(usize, u64)>,
}

/// Where a fixed-width value is in `.debug_info`: position and width.
#[derive(Debug, Clone, Copy)]
struct Slot {
    pos: usize,
    width: usize,
}

/// The `DW_AT_low_pc` of a DIE.
#[derive(Debug, Clone, Copy)]
enum Low {
    Addr(u64, Slot),
    Index(u64),
}

/// The `DW_AT_high_pc` of a DIE.
#[derive(Debug, Clone, Copy)]
enum High {
    /// An address (`DW_FORM_addr`).
    Addr(u64, Slot),
    /// A length from `DW_AT_low_pc` (a constant form), possibly a ULEB128.
    Len { value: u64, slot: Slot, uleb: bool },
}

/// Patches the address attributes of `.debug_info` in a copy of it.
pub(crate) fn patch(
    sections: &Sections<'_>,
    mapper: &Mapper<'_>,
) -> Result<(Vec<u8>, Refs), Error> {
    let input = sections.get(SECTION);
    // A gimli error reading the unit or entry at `at`.
    let err = |at: usize| move |e| gimli_error(SECTION, input, at, e);
    let mut out = input.data.to_vec();
    let mut refs = Refs::default();
    let debug_info = gimli::DebugInfo::new(input.data, LittleEndian);
    let abbrev_input = sections.get(".debug_abbrev");
    let debug_abbrev = gimli::DebugAbbrev::new(abbrev_input.data, LittleEndian);
    let debug_addr = sections.get(".debug_addr");
    let mut abbrev_cache: Option<(u64, gimli::Abbreviations)> = None;
    let mut headers = debug_info.units();
    let mut plans: Vec<Option<Vec<u16>>> = Vec::new();
    // Where the next unit starts.
    let mut next_unit = 0;
    while let Some(header) = headers.next().map_err(err(next_unit))? {
        let unit_start = header.offset().0;
        next_unit = unit_start + header.length_including_self();
        let abbrev_offset = header.debug_abbrev_offset().0 as u64;
        if abbrev_cache
            .as_ref()
            .is_none_or(|(o, _)| *o != abbrev_offset)
        {
            let abbrevs = header.abbreviations(&debug_abbrev).map_err(|e| {
                gimli_error(".debug_abbrev", abbrev_input, abbrev_offset as usize, e)
            })?;
            abbrev_cache = Some((abbrev_offset, abbrevs));
        }
        let Some((_, abbrevs)) = abbrev_cache.as_ref() else {
            continue;
        };
        let unit_index = refs.units.len();
        refs.units.push(Unit {
            version: header.version(),
            address_size: header.address_size(),
            offset_size: header.format().word_size(),
            ..Unit::default()
        });
        let mut walk = UnitWalk {
            input,
            out: &mut out,
            refs: &mut refs,
            mapper,
            debug_addr,
            unit_index,
            unit_start,
        };
        let mut entries = header.entries_raw(abbrevs, None).map_err(err(unit_start))?;
        let mut root = true;
        plans.clear();
        while !entries.is_empty() {
            let code_offset = entries.next_offset().0;
            let err = err(unit_start + code_offset);
            let Some(abbrev) = entries.read_abbreviation().map_err(err)? else {
                continue;
            };
            let specs = abbrev.attributes();
            let code = read_uleb(input.data, unit_start + code_offset).map_or(0, |(c, _)| c);
            let plan = plan(&mut plans, code, specs);
            if plan.is_empty() {
                entries.skip_attributes(specs).map_err(err)?;
                continue;
            }
            let mut die = Die::default();
            let mut next = 0;
            for &i in plan {
                let i = usize::from(i);
                entries.skip_attributes(&specs[next..i]).map_err(err)?;
                next = i + 1;
                let before = entries.next_offset().0;
                let attr = entries.read_attribute(specs[i]).map_err(err)?;
                let after = entries.next_offset().0;
                let start = value_start(input.data, unit_start + before, specs[i].form());
                walk.attribute(&mut die, &attr, start, unit_start + after, root)?;
            }
            entries.skip_attributes(&specs[next..]).map_err(err)?;
            walk.finish(&die, root)?;
            root = false;
        }
    }
    Ok((out, refs))
}

/// The indices of the attributes of abbreviation `code` the walk reads (the
/// others are skipped), computed once per code and unit.
fn plan<'p>(
    plans: &'p mut Vec<Option<Vec<u16>>>,
    code: u64,
    specs: &[gimli::AttributeSpecification],
) -> &'p [u16] {
    let code = usize::try_from(code).unwrap_or(usize::MAX).min(1 << 20);
    if plans.len() <= code {
        plans.resize(code + 1, None);
    }
    plans[code].get_or_insert_with(|| {
        (0..specs.len().min(usize::from(u16::MAX)))
            .filter(|&i| is_interesting(specs[i].name(), specs[i].form()))
            .map(|i| i as u16)
            .collect()
    })
}

/// Whether an attribute can hold a code address, a list, a line program or
/// a base the lists need: expressions and small constants cannot.
fn is_interesting(name: DwAt, form: DwForm) -> bool {
    if matches!(
        form,
        dw::DW_FORM_exprloc
            | dw::DW_FORM_block
            | dw::DW_FORM_block1
            | dw::DW_FORM_block2
            | dw::DW_FORM_block4
            | dw::DW_FORM_data1
            | dw::DW_FORM_data2
            | dw::DW_FORM_string
            | dw::DW_FORM_strp
            | dw::DW_FORM_flag_present
    ) && !matches!(name, dw::DW_AT_high_pc | dw::DW_AT_low_pc)
    {
        return false;
    }
    matches!(
        name,
        dw::DW_AT_low_pc
            | dw::DW_AT_high_pc
            | dw::DW_AT_entry_pc
            | dw::DW_AT_call_return_pc
            | dw::DW_AT_call_pc
            | dw::DW_AT_ranges
            | dw::DW_AT_stmt_list
            | dw::DW_AT_location
            | dw::DW_AT_string_length
            | dw::DW_AT_return_addr
            | dw::DW_AT_data_member_location
            | dw::DW_AT_frame_base
            | dw::DW_AT_segment
            | dw::DW_AT_static_link
            | dw::DW_AT_use_location
            | dw::DW_AT_vtable_elem_location
            | dw::DW_AT_addr_base
            | dw::DW_AT_GNU_addr_base
            | dw::DW_AT_rnglists_base
            | dw::DW_AT_loclists_base
    )
}

/// Where an attribute's value starts: after the form of `DW_FORM_indirect`.
fn value_start(data: &[u8], pos: usize, form: DwForm) -> usize {
    if form == dw::DW_FORM_indirect {
        pos + read_uleb(data, pos).map_or(0, |(_, len)| len)
    } else {
        pos
    }
}

/// The attributes of one DIE that are resolved once all are read.
#[derive(Debug, Default)]
struct Die {
    low: Option<Low>,
    high: Option<High>,
}

/// The state of the walk through one unit.
struct UnitWalk<'a, 'b> {
    input: Input<'a>,
    out: &'b mut Vec<u8>,
    refs: &'b mut Refs,
    mapper: &'b Mapper<'b>,
    debug_addr: Input<'a>,
    unit_index: usize,
    unit_start: usize,
}

impl UnitWalk<'_, '_> {
    fn unit(&mut self) -> &mut Unit {
        &mut self.refs.units[self.unit_index]
    }

    /// Handles one interesting attribute whose value is at `start..after`.
    fn attribute(
        &mut self,
        die: &mut Die,
        attr: &gimli::Attribute<EndianSlice<'_, LittleEndian>>,
        start: usize,
        after: usize,
        root: bool,
    ) -> Result<(), Error> {
        let name = attr.name();
        let width = after - start;
        match (name, attr.raw_value()) {
            (
                dw::DW_AT_low_pc
                | dw::DW_AT_high_pc
                | dw::DW_AT_entry_pc
                | dw::DW_AT_call_return_pc
                | dw::DW_AT_call_pc,
                AttributeValue::Addr(address),
            ) => {
                let slot = Slot { pos: start, width };
                match name {
                    dw::DW_AT_low_pc => die.low = Some(Low::Addr(address, slot)),
                    dw::DW_AT_high_pc => die.high = Some(High::Addr(address, slot)),
                    _ => {}
                }
                let new = self.mapper.map_or_keep(address);
                write_uint(self.out, start, width, new);
            }
            (
                dw::DW_AT_low_pc
                | dw::DW_AT_high_pc
                | dw::DW_AT_entry_pc
                | dw::DW_AT_call_return_pc
                | dw::DW_AT_call_pc,
                AttributeValue::DebugAddrIndex(index),
            ) => {
                if name == dw::DW_AT_low_pc {
                    die.low = Some(Low::Index(index.0 as u64));
                }
                let unit = self.unit_index;
                self.refs.code_addr_indices.push((unit, index.0 as u64));
            }
            (dw::DW_AT_high_pc, value) => {
                if let Some(len) = value.udata_value() {
                    die.high = Some(High::Len {
                        value: len,
                        slot: Slot { pos: start, width },
                        uleb: attr.form() == dw::DW_FORM_udata,
                    });
                }
            }
            (dw::DW_AT_addr_base | dw::DW_AT_GNU_addr_base, _) if root => {
                if let AttributeValue::DebugAddrBase(base) = attr.value() {
                    self.unit().addr_base = Some(base.0 as u64);
                }
            }
            (dw::DW_AT_rnglists_base, _) if root => {
                if let AttributeValue::DebugRngListsBase(base) = attr.value() {
                    self.unit().rnglists_base = Some(base.0 as u64);
                }
            }
            (dw::DW_AT_loclists_base, _) if root => {
                if let AttributeValue::DebugLocListsBase(base) = attr.value() {
                    self.unit().loclists_base = Some(base.0 as u64);
                }
            }
            _ => self.reference(attr.value(), start, width)?,
        }
        Ok(())
    }

    /// Records a list or line program reference.
    fn reference(
        &mut self,
        value: AttributeValue<EndianSlice<'_, LittleEndian>>,
        start: usize,
        width: usize,
    ) -> Result<(), Error> {
        let (kind, offset) = match value {
            AttributeValue::RangeListsRef(o) => (ListKind::Ranges, ListOffset::Direct(o.0 as u64)),
            AttributeValue::DebugRngListsIndex(i) => {
                (ListKind::Ranges, ListOffset::Index(i.0 as u64))
            }
            AttributeValue::LocationListsRef(o) => {
                (ListKind::Locations, ListOffset::Direct(o.0 as u64))
            }
            AttributeValue::DebugLocListsIndex(i) => {
                (ListKind::Locations, ListOffset::Index(i.0 as u64))
            }
            AttributeValue::DebugLineRef(o) => {
                let address_size = self.unit().address_size;
                self.refs.stmt_lists.push(StmtList {
                    pos: start,
                    width,
                    offset: o.0 as u64,
                    address_size,
                });
                return Ok(());
            }
            _ => return Ok(()),
        };
        self.refs.lists.push(ListRef {
            kind,
            offset,
            unit: self.unit_index,
        });
        Ok(())
    }

    /// Resolves what needed all of a DIE's attributes: the unit's base
    /// address and the DIE's range, `DW_AT_low_pc` to `DW_AT_high_pc`.
    fn finish(&mut self, die: &Die, root: bool) -> Result<(), Error> {
        let low = match die.low {
            None => None,
            Some(Low::Addr(address, _)) => Some(address),
            Some(Low::Index(index)) => Some(self.addr_entry(index)?),
        };
        if root {
            self.unit().base = low.unwrap_or(0);
        }
        let (Some(low), Some(high)) = (low, die.high) else {
            return Ok(());
        };
        let end = match high {
            High::Addr(address, _) => address,
            High::Len { value, .. } => low.saturating_add(value),
        };
        let mapped = if root {
            self.mapper.unit_range(low, end)
        } else {
            self.mapper.range(low, end)
        };
        let (start, end) = match mapped {
            Mapped::Outside => return Ok(()),
            Mapped::Range(start, end) => (start, end),
            Mapped::Unmappable(start) => {
                self.mapper.tombstoned();
                match die.low {
                    // A unit's low_pc is its lists' base address, and an
                    // index may be shared: the range is made empty instead.
                    Some(Low::Addr(_, slot)) if !root => {
                        let tombstone = address_max(slot.width as u8);
                        write_uint(self.out, slot.pos, slot.width, tombstone);
                        (tombstone, tombstone)
                    }
                    _ => (start, start),
                }
            }
        };
        let (slot, uleb) = match high {
            High::Addr(_, slot) => {
                // An address of the unit's size always holds a code address.
                write_uint(self.out, slot.pos, slot.width, end);
                return Ok(());
            }
            High::Len { value, .. } if value == end - start => return Ok(()),
            High::Len { slot, uleb, .. } => (slot, uleb),
        };
        let len = end - start;
        let fits = if uleb {
            write_uleb_fixed(self.out, slot.pos, slot.width, len)
        } else {
            write_uint(self.out, slot.pos, slot.width, len)
        };
        if !fits {
            return Err(unsupported(
                format!(
                    "{SECTION}: the new length {len:#x} of a DW_AT_high_pc does not fit its {} byte(s)",
                    slot.width
                ),
                (self.input.file_offset + slot.pos) as u64,
            ));
        }
        Ok(())
    }

    /// The input value of entry `index` of the unit's `.debug_addr` table.
    fn addr_entry(&mut self, index: u64) -> Result<u64, Error> {
        let unit = self.unit().clone();
        let size = u64::from(unit.address_size);
        let Some(base) = unit.addr_base else {
            return Err(malformed(
                SECTION,
                self.input,
                self.unit_start,
                "an address index in a unit without DW_AT_addr_base",
            ));
        };
        let pos = base + index * size;
        read_uint(self.debug_addr.data, pos as usize, size as usize).ok_or_else(|| {
            malformed(
                ".debug_addr",
                self.debug_addr,
                pos as usize,
                "address index out of bounds",
            )
        })
    }
}
